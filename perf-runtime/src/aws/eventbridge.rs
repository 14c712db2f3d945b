//! EventBridge measurements (cargo feature `eventbridge`): batched
//! publishing that retries only the entries that failed and reports every
//! failure by error code, and end-to-end delivery latency through an SQS
//! target (each event carries its send time; a receiver long-polls the
//! queue).

use std::collections::BTreeMap;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use aws_sdk_eventbridge::types::PutEventsRequestEntry;
use aws_sdk_sqs::types::MessageSystemAttributeName;

use super::{Backoff, HttpTuning};
use crate::Ctx;

/// Most entries in one `PutEvents` request.
pub const MAX_ENTRIES_PER_REQUEST: usize = 10;
/// Most bytes of entries in one `PutEvents` request (256 KB).
pub const MAX_REQUEST_BYTES: usize = 256 * 1024;
/// The detail field carrying the send time (Unix nanoseconds).
pub const SENT_FIELD: &str = "perf_sent_unix_ns";

/// Error codes worth retrying (the rest are the entry's own fault).
const RETRYABLE: [&str; 4] = [
    "ThrottlingException",
    "InternalFailure",
    "InternalException",
    "ServiceUnavailable",
];

/// One event to publish.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// `Source`.
    pub source: String,
    /// `DetailType`.
    pub detail_type: String,
    /// `Detail`, a JSON object.
    pub detail: String,
}

impl Event {
    /// An event whose detail is `detail` plus [`SENT_FIELD`], stamped now,
    /// so that its delivery latency can be measured.
    pub fn stamped(source: &str, detail_type: &str, detail: serde_json::Value) -> Event {
        let mut detail = match detail {
            serde_json::Value::Object(map) => map,
            other => {
                let mut map = serde_json::Map::new();
                map.insert("value".into(), other);
                map
            }
        };
        detail.insert(SENT_FIELD.into(), serde_json::json!(unix_ns()));
        Event {
            source: source.into(),
            detail_type: detail_type.into(),
            detail: serde_json::Value::Object(detail).to_string(),
        }
    }

    /// The whole event as a rule sees it (`id`, `account`, `time`,
    /// `region`, `resources`, `source`, `detail-type`, `detail`), for
    /// [`EventBus::test_pattern`].
    pub fn as_rule_input(&self) -> serde_json::Value {
        serde_json::json!({
            "version": "0",
            "id": format!("{:032x}", unix_ns()),
            "detail-type": self.detail_type,
            "source": self.source,
            "account": "123456789012",
            "time": "2026-01-01T00:00:00Z",
            "region": "us-east-1",
            "resources": [],
            "detail": serde_json::from_str::<serde_json::Value>(&self.detail).unwrap_or_default(),
        })
    }

    /// Its size as EventBridge counts it for the request limit.
    pub fn size(&self, bus: &str) -> usize {
        self.source.len() + self.detail_type.len() + self.detail.len() + bus.len()
    }
}

/// What a publish did. Every event is either published or in `failed`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PublishOutcome {
    /// `PutEvents` requests sent, retries included.
    pub requests: u64,
    /// Requests that were retries of failed entries.
    pub retries: u64,
    /// Events published.
    pub published: u64,
    /// Events not published, with their error code and message.
    pub failed: Vec<(Event, String, String)>,
    /// Failed events per error code.
    pub failed_by_code: BTreeMap<String, u64>,
}

/// An event bus and a client for it.
#[derive(Debug, Clone)]
pub struct EventBus {
    client: aws_sdk_eventbridge::Client,
    name: String,
}

impl EventBus {
    /// The bus `name` through a measurement client (one attempt per call).
    pub async fn connect(name: impl Into<String>, tuning: &HttpTuning) -> EventBus {
        let config = super::sdk_config(tuning).await;
        EventBus {
            client: aws_sdk_eventbridge::Client::new(&config),
            name: name.into(),
        }
    }

    /// The client.
    pub fn client(&self) -> &aws_sdk_eventbridge::Client {
        &self.client
    }

    /// The bus's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Whether `pattern` matches `event` (a whole event:
    /// [`Event::as_rule_input`]), asked of the service (`TestEventPattern`),
    /// with the call's time recorded as `test_event_pattern` on `ctx` if
    /// given: how pattern complexity costs. An endpoint that answers without
    /// a `Result` (moto 5.2 does not implement the call) is an error, not a
    /// "no match".
    pub async fn test_pattern(
        &self,
        pattern: &serde_json::Value,
        event: &serde_json::Value,
        ctx: Option<&Ctx>,
    ) -> Result<bool, String> {
        let start = Instant::now();
        let out = self
            .client
            .test_event_pattern()
            .event_pattern(pattern.to_string())
            .event(event.to_string())
            .customize()
            .interceptor(RequireResult)
            .send()
            .await
            .map_err(|e| format!("TestEventPattern: {}", super::error_chain(&e)))?;
        if let Some(ctx) = ctx {
            ctx.record_duration("test_event_pattern", start.elapsed());
        }
        Ok(out.result)
    }

    /// Publishes `events` in requests of at most 10 entries and 256 KB,
    /// retrying only the entries that failed with a retryable code (or
    /// whole requests that were throttled) with `backoff`. An entry over
    /// 256 KB on its own fails with code `EntryTooLarge` without a request.
    pub async fn put_events(&self, events: Vec<Event>, backoff: &Backoff) -> PublishOutcome {
        let mut outcome = PublishOutcome::default();
        let mut batches: Vec<Vec<Event>> = Vec::new();
        let mut size = 0;
        for e in events {
            let s = e.size(&self.name);
            if s > MAX_REQUEST_BYTES {
                let message = format!("{s} bytes, over the 256 KB request limit");
                outcome.fail(e, "EntryTooLarge", message);
                continue;
            }
            match batches.last_mut() {
                Some(b) if b.len() < MAX_ENTRIES_PER_REQUEST && size + s <= MAX_REQUEST_BYTES => {
                    size += s;
                    b.push(e);
                }
                _ => {
                    size = s;
                    batches.push(vec![e]);
                }
            }
        }
        let bus = &self.name;
        for batch in batches {
            let send = |pending: Vec<Event>| async move {
                let entries: Vec<PutEventsRequestEntry> = pending
                    .iter()
                    .map(|e| {
                        PutEventsRequestEntry::builder()
                            .source(&e.source)
                            .detail_type(&e.detail_type)
                            .detail(&e.detail)
                            .event_bus_name(bus)
                            .build()
                    })
                    .collect();
                match self
                    .client
                    .put_events()
                    .set_entries(Some(entries))
                    .send()
                    .await
                {
                    Ok(out) => Ok(out
                        .entries()
                        .iter()
                        .map(|r| {
                            r.error_code()
                                .map(|c| (c.to_owned(), r.error_message().unwrap_or("").to_owned()))
                        })
                        .collect()),
                    Err(err) => {
                        use aws_sdk_eventbridge::error::ProvideErrorMetadata;
                        let code = err.code().unwrap_or("RequestFailed").to_owned();
                        Err((code, super::error_chain(&err)))
                    }
                }
            };
            publish_batch(batch, backoff, &mut outcome, send).await;
        }
        outcome
    }
}

impl PublishOutcome {
    fn fail(&mut self, e: Event, code: &str, message: String) {
        *self.failed_by_code.entry(code.to_owned()).or_insert(0) += 1;
        self.failed.push((e, code.to_owned(), message));
    }
}

/// What one `PutEvents` call said: per entry, `None` (published) or its
/// error code and message; or the whole request's code and message.
type Sent = Result<Vec<Option<(String, String)>>, (String, String)>;

/// Sends one batch with `send`, retrying with `backoff` only the entries
/// that failed with a retryable code (or all of them when the request
/// itself failed with one).
async fn publish_batch<F, Fut>(
    batch: Vec<Event>,
    backoff: &Backoff,
    outcome: &mut PublishOutcome,
    send: F,
) where
    F: Fn(Vec<Event>) -> Fut,
    Fut: std::future::Future<Output = Sent>,
{
    let mut pending = batch;
    let mut retry = 0;
    loop {
        outcome.requests += 1;
        let results = match send(pending.clone()).await {
            Ok(results) => results,
            Err(whole) => vec![Some(whole); pending.len()],
        };
        let mut again = Vec::new();
        for (e, result) in pending.into_iter().zip(results) {
            match result {
                None => outcome.published += 1,
                Some((code, message)) if RETRYABLE.contains(&code.as_str()) => {
                    again.push((e, code, message))
                }
                Some((code, message)) => outcome.fail(e, &code, message),
            }
        }
        if again.is_empty() {
            return;
        }
        if retry == backoff.max_retries {
            for (e, code, message) in again {
                outcome.fail(e, &code, format!("{message} (after {retry} retries)"));
            }
            return;
        }
        retry += 1;
        outcome.retries += 1;
        backoff.wait(retry).await;
        pending = again.into_iter().map(|(e, _, _)| e).collect();
    }
}

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
            .map_err(|e| super::error_chain(&e))
    }

    /// A probe on `queue_url`, in `region` (default: the configured one).
    pub async fn connect(queue_url: impl Into<String>, region: Option<&str>) -> DeliveryProbe {
        let config = super::sdk_config(&HttpTuning::default()).await;
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
                .map_err(|e| super::error_chain(&e))?;
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
struct RequireResult;

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
                .map_err(|e| super::error_chain(&e))?;
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
        let sqs = aws_sdk_sqs::Client::new(&super::sdk_config(&HttpTuning::default()).await);
        let err = |call: &str, e: &(dyn std::error::Error + 'static)| {
            format!("{call}: {}", super::error_chain(e))
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
            format!("{call}: {}", super::error_chain(e))
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
        let _ = super::block_on_own_thread(async move {
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

fn unix_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_nanos() as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn events(n: usize) -> Vec<Event> {
        (0..n)
            .map(|i| Event::stamped("orders", "OrderPlaced", serde_json::json!({"order": i})))
            .collect()
    }

    #[tokio::test(start_paused = true)]
    async fn only_failed_entries_are_retried() {
        // Entries 1 and 3 are throttled the first time, entry 2 is
        // malformed: only 1 and 3 are sent again.
        let calls = std::sync::Mutex::new(Vec::new());
        let mut outcome = PublishOutcome::default();
        publish_batch(
            events(4),
            &Backoff::default(),
            &mut outcome,
            |batch: Vec<Event>| {
                let first = calls.lock().unwrap().is_empty();
                calls.lock().unwrap().push(batch.len());
                async move {
                    Ok((0..batch.len())
                        .map(|i| match (first, i) {
                            (true, 1 | 3) => {
                                Some(("ThrottlingException".into(), "slow down".into()))
                            }
                            (true, 2) => Some(("MalformedDetail".into(), "bad".into())),
                            _ => None,
                        })
                        .collect())
                }
            },
        )
        .await;
        assert_eq!(*calls.lock().unwrap(), [4, 2]);
        assert_eq!(
            (outcome.requests, outcome.retries, outcome.published),
            (2, 1, 3)
        );
        assert_eq!(outcome.failed_by_code["MalformedDetail"], 1);
    }

    #[tokio::test(start_paused = true)]
    async fn entries_still_failing_after_the_last_retry_are_reported() {
        let mut outcome = PublishOutcome::default();
        let backoff = Backoff {
            max_retries: 2,
            ..Backoff::default()
        };
        publish_batch(
            events(3),
            &backoff,
            &mut outcome,
            |_batch: Vec<Event>| async {
                Err(("ThrottlingException".to_owned(), "Rate exceeded".to_owned()))
            },
        )
        .await;
        assert_eq!(
            (outcome.requests, outcome.retries, outcome.published),
            (3, 2, 0)
        );
        assert_eq!(outcome.failed_by_code["ThrottlingException"], 3);
        assert!(outcome.failed[0].2.ends_with("(after 2 retries)"));
    }

    #[test]
    fn a_stamped_event_carries_its_send_time() {
        let before = unix_ns();
        let e = Event::stamped("orders", "OrderPlaced", serde_json::json!({"order": 7}));
        let detail: serde_json::Value = serde_json::from_str(&e.detail).unwrap();
        assert_eq!(detail["order"], 7);
        let sent = detail[SENT_FIELD].as_u64().unwrap();
        assert!(sent >= before && sent <= unix_ns());
        assert_eq!(
            e.size("bus"),
            "orders".len() + "OrderPlaced".len() + e.detail.len() + 3
        );
    }
}
