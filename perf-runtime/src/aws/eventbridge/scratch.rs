//! Scratch routes: a bus, a rule and a queue created for a test, deleted
//! when dropped.

use super::*;

/// A bus, an SQS queue and a rule sending the events that match a pattern
/// to the queue, made for one test (unique names) and deleted when dropped,
/// also when the test panics. Optionally the target has a dead-letter
/// queue of its own. The queues' policies let EventBridge send to them
/// from this rule only (what AWS requires; the local stack ignores it).
#[derive(Debug)]
pub struct ScratchRoute {
    bus: EventBus,
    sqs: aws_sdk_sqs::Client,
    rule: String,
    queue_url: String,
    dead_letter_url: Option<String>,
}

impl ScratchRoute {
    /// Creates `<prefix>-bus-…`, `<prefix>-queue-…` and a rule with
    /// `pattern` (an EventBridge event pattern, JSON) targeting the queue.
    pub async fn create(prefix: &str, pattern: &serde_json::Value) -> Result<ScratchRoute, String> {
        ScratchRoute::create_inner(prefix, pattern, None).await
    }

    /// As [`create`](Self::create), and a dead-letter queue
    /// `<prefix>-dlq-…` for the target, which EventBridge uses after
    /// `max_retry_attempts` failed deliveries (0 to 185). Read it with
    /// [`DeliveryProbe::dead_letters`] on [`dead_letter_url`](Self::dead_letter_url).
    pub async fn create_with_dead_letters(
        prefix: &str,
        pattern: &serde_json::Value,
        max_retry_attempts: i32,
    ) -> Result<ScratchRoute, String> {
        ScratchRoute::create_inner(prefix, pattern, Some(max_retry_attempts)).await
    }

    async fn create_inner(
        prefix: &str,
        pattern: &serde_json::Value,
        dead_letters: Option<i32>,
    ) -> Result<ScratchRoute, String> {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .subsec_nanos();
        let unique = |what: &str| format!("{prefix}-{what}-{}-{nanos}", std::process::id());
        let bus = EventBus::connect(unique("bus"), &HttpTuning::default()).await;
        let sqs = aws_sdk_sqs::Client::new(&crate::aws::sdk_config(&HttpTuning::default()).await);
        let err = |call: &str, e: &(dyn std::error::Error + 'static)| {
            format!("{call}: {}", crate::aws::error_chain(e))
        };
        bus.client
            .create_event_bus()
            .name(bus.name())
            .send()
            .await
            .map_err(|e| err("CreateEventBus", &e))?;
        let create_queue = |name: String| {
            let sqs = sqs.clone();
            async move {
                sqs.create_queue()
                    .queue_name(name)
                    .send()
                    .await
                    .map(|q| q.queue_url.unwrap_or_default())
                    .map_err(|e| err("CreateQueue", &e))
            }
        };
        let queue_url = create_queue(unique("queue")).await?;
        // From here on, dropping cleans up what exists.
        let mut route = ScratchRoute {
            bus,
            sqs: sqs.clone(),
            rule: unique("rule"),
            queue_url,
            dead_letter_url: None,
        };
        if dead_letters.is_some() {
            route.dead_letter_url = Some(create_queue(unique("dlq")).await?);
        }
        let rule_arn = route
            .bus
            .client
            .put_rule()
            .name(&route.rule)
            .event_bus_name(route.bus.name())
            .event_pattern(pattern.to_string())
            .send()
            .await
            .map_err(|e| err("PutRule", &e))?
            .rule_arn
            .unwrap_or_default();
        let queue_arn = route.allow_rule(&route.queue_url, &rule_arn).await?;
        let mut target = aws_sdk_eventbridge::types::Target::builder()
            .id("queue")
            .arn(queue_arn);
        if let (Some(attempts), Some(dlq)) = (dead_letters, &route.dead_letter_url) {
            let dlq_arn = route.allow_rule(dlq, &rule_arn).await?;
            target = target
                .dead_letter_config(
                    aws_sdk_eventbridge::types::DeadLetterConfig::builder()
                        .arn(dlq_arn)
                        .build(),
                )
                .retry_policy(
                    aws_sdk_eventbridge::types::RetryPolicy::builder()
                        .maximum_retry_attempts(attempts)
                        .build(),
                );
        }
        let target = target.build().map_err(|e| e.to_string())?;
        route
            .bus
            .client
            .put_targets()
            .rule(&route.rule)
            .event_bus_name(route.bus.name())
            .targets(target)
            .send()
            .await
            .map_err(|e| err("PutTargets", &e))?;
        Ok(route)
    }

    /// Lets EventBridge send to `queue_url` from `rule_arn` only; returns
    /// the queue's ARN.
    async fn allow_rule(&self, queue_url: &str, rule_arn: &str) -> Result<String, String> {
        use aws_sdk_sqs::types::QueueAttributeName;
        let err = |call: &str, e: &(dyn std::error::Error + 'static)| {
            format!("{call}: {}", crate::aws::error_chain(e))
        };
        let arn = self
            .sqs
            .get_queue_attributes()
            .queue_url(queue_url)
            .attribute_names(QueueAttributeName::QueueArn)
            .send()
            .await
            .map_err(|e| err("GetQueueAttributes", &e))?
            .attributes
            .and_then(|mut a| a.remove(&QueueAttributeName::QueueArn))
            .unwrap_or_default();
        let policy = serde_json::json!({
            "Version": "2012-10-17",
            "Statement": [{
                "Effect": "Allow",
                "Principal": {"Service": "events.amazonaws.com"},
                "Action": "sqs:SendMessage",
                "Resource": arn,
                "Condition": {"ArnEquals": {"aws:SourceArn": rule_arn}}
            }]
        });
        self.sqs
            .set_queue_attributes()
            .queue_url(queue_url)
            .attributes(QueueAttributeName::Policy, policy.to_string())
            .send()
            .await
            .map_err(|e| err("SetQueueAttributes", &e))?;
        Ok(arn)
    }

    /// The rule's name.
    pub fn rule(&self) -> &str {
        &self.rule
    }

    /// The dead-letter queue's URL, if the route has one.
    pub fn dead_letter_url(&self) -> Option<&str> {
        self.dead_letter_url.as_deref()
    }

    /// The bus, for publishing.
    pub fn bus(&self) -> &EventBus {
        &self.bus
    }

    /// The queue's URL, for a [`DeliveryProbe`].
    pub fn queue_url(&self) -> &str {
        &self.queue_url
    }
}

impl Drop for ScratchRoute {
    fn drop(&mut self) {
        // Each step is attempted even if an earlier one failed (it may not
        // have been created).
        let (eb, sqs) = (self.bus.client.clone(), self.sqs.clone());
        let (bus, rule, queue, dlq) = (
            self.bus.name.clone(),
            self.rule.clone(),
            self.queue_url.clone(),
            self.dead_letter_url.clone(),
        );
        let _ = crate::aws::block_on_own_thread(async move {
            let _ = eb
                .remove_targets()
                .rule(&rule)
                .event_bus_name(&bus)
                .ids("queue")
                .send()
                .await;
            let _ = eb
                .delete_rule()
                .name(&rule)
                .event_bus_name(&bus)
                .send()
                .await;
            let _ = eb.delete_event_bus().name(&bus).send().await;
            for q in std::iter::once(queue).chain(dlq) {
                if !q.is_empty() {
                    let _ = sqs.delete_queue().queue_url(&q).send().await;
                }
            }
        });
    }
}
