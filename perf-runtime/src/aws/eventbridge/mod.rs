//! EventBridge measurements (cargo feature `eventbridge`): batched
//! publishing that retries only the entries that failed and reports every
//! failure by error code, and end-to-end delivery latency through an SQS
//! target (each event carries its send time; a receiver long-polls the
//! queue).

mod delivery;
mod scratch;

pub(crate) use delivery::RequireResult;
pub use delivery::{DeadLetter, DeadLetters, Delivered, DeliveryProbe};
pub use scratch::ScratchRoute;

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
