//! Delivery latency: events published with a timestamp, received
//! through an SQS queue, and the dead letters of failed deliveries.

use super::*;

/// An event received from the queue a rule targets.
#[derive(Debug, Clone, PartialEq)]
pub struct Delivered {
    /// The event's `detail-type`.
    pub detail_type: String,
    /// Its `detail`.
    pub detail: serde_json::Value,
    /// From the send stamp to its receipt (`None` without a stamp).
    pub latency: Option<Duration>,
}

/// Receives the events a rule delivers to an SQS queue, and measures their
/// delivery latency from the stamp each carries ([`Event::stamped`]). The
/// queue may live in another region (to measure cross-region delivery
/// latency): give its region to [`DeliveryProbe::connect`].
#[derive(Debug, Clone)]
pub struct DeliveryProbe {
    client: aws_sdk_sqs::Client,
    queue_url: String,
}

impl DeliveryProbe {
    /// Deletes a received message.
    async fn delete(&self, m: &aws_sdk_sqs::types::Message) -> Result<(), String> {
        let Some(handle) = m.receipt_handle() else {
            return Ok(());
        };
        self.client
            .delete_message()
            .queue_url(&self.queue_url)
            .receipt_handle(handle)
            .send()
            .await
            .map(drop)
            .map_err(|e| crate::aws::error_chain(&e))
    }

    /// A probe on `queue_url`, in `region` (default: the configured one).
    pub async fn connect(queue_url: impl Into<String>, region: Option<&str>) -> DeliveryProbe {
        let config = crate::aws::sdk_config(&HttpTuning::default()).await;
        let mut sqs = aws_sdk_sqs::config::Builder::from(&config);
        if let Some(r) = region {
            sqs = sqs.region(aws_sdk_sqs::config::Region::new(r.to_owned()));
        }
        DeliveryProbe {
            client: aws_sdk_sqs::Client::from_conf(sqs.build()),
            queue_url: queue_url.into(),
        }
    }

    /// Long-polls until `expected` events arrived or `deadline` passed,
    /// deleting what it receives. Records `delivery_latency` on `ctx` for
    /// each stamped event, if given.
    pub async fn receive(
        &self,
        expected: usize,
        deadline: Duration,
        ctx: Option<&Ctx>,
    ) -> Result<Vec<Delivered>, String> {
        let start = Instant::now();
        let mut delivered = Vec::new();
        while delivered.len() < expected && start.elapsed() < deadline {
            let left = deadline.saturating_sub(start.elapsed());
            let wait = left.as_secs().clamp(1, 20) as i32;
            let out = self
                .client
                .receive_message()
                .queue_url(&self.queue_url)
                .max_number_of_messages(10)
                .wait_time_seconds(wait)
                .message_system_attribute_names(MessageSystemAttributeName::SentTimestamp)
                .send()
                .await
                .map_err(|e| crate::aws::error_chain(&e))?;
            let received_ns = unix_ns();
            for m in out.messages.unwrap_or_default() {
                let body: serde_json::Value = m
                    .body()
                    .and_then(|b| serde_json::from_str(b).ok())
                    .unwrap_or_default();
                let detail = body.get("detail").cloned().unwrap_or_default();
                let latency = detail
                    .get(SENT_FIELD)
                    .and_then(serde_json::Value::as_u64)
                    .map(|sent| Duration::from_nanos(received_ns.saturating_sub(sent)));
                if let (Some(ctx), Some(l)) = (ctx, latency) {
                    ctx.record_duration("delivery_latency", l);
                }
                delivered.push(Delivered {
                    detail_type: body
                        .get("detail-type")
                        .and_then(|v| v.as_str())
                        .unwrap_or("")
                        .to_owned(),
                    detail,
                    latency,
                });
                self.delete(&m).await?;
            }
        }
        Ok(delivered)
    }
}

/// Fails a `TestEventPattern` answer that has no `Result` field (the
/// SDK would read it as `false`).
#[derive(Debug)]
pub(crate) struct RequireResult;

impl aws_sdk_eventbridge::config::Intercept for RequireResult {
    fn name(&self) -> &'static str {
        "RequireResult"
    }

    fn read_before_deserialization(
        &self,
        context: &aws_sdk_eventbridge::config::interceptors::BeforeDeserializationInterceptorContextRef<'_>,
        _runtime_components: &aws_sdk_eventbridge::config::RuntimeComponents,
        _cfg: &mut aws_sdk_eventbridge::config::ConfigBag,
    ) -> Result<(), aws_smithy_runtime_api::box_error::BoxError> {
        let response = context.response();
        let body = response.body().bytes().unwrap_or_default();
        if response.status().is_success() && !body.windows(8).any(|w| w == b"\"Result\"") {
            return Err(format!(
                "the endpoint answered HTTP {} without a `Result` ({} bytes): it does not implement TestEventPattern \
                 (moto 5.2 does not; run against AWS)",
                response.status().as_u16(),
                body.len()
            )
            .into());
        }
        Ok(())
    }
}

/// An event EventBridge could not deliver to a target, as it lands in the
/// target's dead-letter queue: the event, and the message attributes
/// EventBridge adds.
#[derive(Debug, Clone, PartialEq)]
pub struct DeadLetter {
    /// The event (the message body).
    pub event: serde_json::Value,
    /// `ERROR_CODE` (e.g. `SDK_CLIENT_ERROR`, `NO_PERMISSIONS`, `RESOURCE_NOT_FOUND`).
    pub error_code: String,
    /// `ERROR_MESSAGE`.
    pub error_message: String,
    /// `RULE_ARN`.
    pub rule_arn: String,
    /// `TARGET_ARN`.
    pub target_arn: String,
    /// `RETRY_ATTEMPTS`.
    pub retry_attempts: u32,
    /// `EXHAUSTED_RETRY_CONDITION` (`MaximumRetryAttempts` or `MaximumEventAgeInSeconds`), if any.
    pub exhausted: Option<String>,
}

/// What a dead-letter queue held.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct DeadLetters {
    /// Every dead letter read.
    pub letters: Vec<DeadLetter>,
    /// How many per error code.
    pub by_code: BTreeMap<String, usize>,
}

impl DeadLetters {
    /// `code count, code count` (most first), or `none`.
    pub fn summary(&self) -> String {
        if self.letters.is_empty() {
            return "none".into();
        }
        let mut codes: Vec<(&String, &usize)> = self.by_code.iter().collect();
        codes.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
        codes
            .iter()
            .map(|(c, n)| format!("{c} {n}"))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

impl DeliveryProbe {
    /// Reads (and deletes) what a dead-letter queue holds, long-polling
    /// until `expected` letters arrived or `deadline` passed (give
    /// `expected = 0` and a short deadline to check that it is empty).
    pub async fn dead_letters(
        &self,
        expected: usize,
        deadline: Duration,
    ) -> Result<DeadLetters, String> {
        let start = Instant::now();
        let mut out = DeadLetters::default();
        loop {
            let left = deadline.saturating_sub(start.elapsed());
            let page = self
                .client
                .receive_message()
                .queue_url(&self.queue_url)
                .max_number_of_messages(10)
                .wait_time_seconds(left.as_secs().clamp(0, 20) as i32)
                .message_attribute_names("All")
                .send()
                .await
                .map_err(|e| crate::aws::error_chain(&e))?;
            for m in page.messages.unwrap_or_default() {
                let attrs = m.message_attributes.clone().unwrap_or_default();
                let attr = |name: &str| {
                    attrs
                        .get(name)
                        .and_then(|a| a.string_value())
                        .unwrap_or_default()
                        .to_owned()
                };
                let letter = DeadLetter {
                    event: m
                        .body()
                        .and_then(|b| serde_json::from_str(b).ok())
                        .unwrap_or_default(),
                    error_code: attr("ERROR_CODE"),
                    error_message: attr("ERROR_MESSAGE"),
                    rule_arn: attr("RULE_ARN"),
                    target_arn: attr("TARGET_ARN"),
                    retry_attempts: attr("RETRY_ATTEMPTS").parse().unwrap_or(0),
                    exhausted: Some(attr("EXHAUSTED_RETRY_CONDITION")).filter(|c| !c.is_empty()),
                };
                *out.by_code.entry(letter.error_code.clone()).or_default() += 1;
                out.letters.push(letter);
                self.delete(&m).await?;
            }
            if (expected > 0 && out.letters.len() >= expected) || start.elapsed() >= deadline {
                return Ok(out);
            }
        }
    }
}
