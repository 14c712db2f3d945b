//! EventBridge against the local stack (moto): batched publishing with
//! failures reported by code, rule filtering, and delivery latency through
//! an SQS target.

use std::time::{Duration, Instant};

use perf_runtime::aws::eventbridge::{DeliveryProbe, Event, ScratchRoute};
use perf_runtime::aws::{self, Backoff};
use serde_json::json;

async fn route() -> ScratchRoute {
    ScratchRoute::create(
        "perf-eb",
        &json!({"source": ["orders"], "detail-type": ["OrderPlaced"]}),
    )
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn publishing_batches_by_the_limits_and_reports_failures_by_code() {
    let Some(_stack) = aws::stack_or_skip("publishing_batches_by_the_limits") else {
        return;
    };
    let route = route().await;
    let mut events: Vec<Event> = (0..24)
        .map(|i| Event::stamped("orders", "OrderCancelled", json!({"order": i})))
        .collect();
    events.insert(
        7,
        Event {
            source: "orders".into(),
            detail_type: "OrderCancelled".into(),
            detail: "not json".into(),
        },
    );
    events.push(Event {
        source: "orders".into(),
        detail_type: "Huge".into(),
        detail: json!({"blob": "x".repeat(300 * 1024)}).to_string(),
    });
    let outcome = route.bus().put_events(events, &Backoff::default()).await;
    // 25 small entries: 3 requests of at most 10; the huge one never sent.
    assert_eq!(
        (outcome.requests, outcome.retries, outcome.published),
        (3, 0, 24)
    );
    assert_eq!(outcome.failed.len(), 2);
    assert_eq!(outcome.failed_by_code["MalformedDetail"], 1);
    assert_eq!(outcome.failed_by_code["EntryTooLarge"], 1);
    let malformed = outcome.failed.iter().find(|f| f.1 == "MalformedDetail");
    assert!(malformed.is_some_and(|f| f.0.detail == "not json"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_matching_events_are_delivered_with_their_latency() {
    let Some(_stack) = aws::stack_or_skip("only_matching_events_are_delivered") else {
        return;
    };
    let start = Instant::now();
    let route = route().await;
    let events: Vec<Event> = (0..10)
        .map(|i| {
            let kind = if i % 2 == 0 {
                "OrderPlaced"
            } else {
                "OrderCancelled"
            };
            Event::stamped("orders", kind, json!({"order": i}))
        })
        .collect();
    let published = route.bus().put_events(events, &Backoff::default()).await;
    assert_eq!(published.published, 10);
    let probe = DeliveryProbe::connect(route.queue_url(), None).await;
    let delivered = probe
        .receive(5, Duration::from_secs(10), None)
        .await
        .unwrap();
    assert_eq!(delivered.len(), 5);
    assert!(delivered.iter().all(|d| d.detail_type == "OrderPlaced"));
    let mut orders: Vec<u64> = delivered
        .iter()
        .map(|d| d.detail["order"].as_u64().unwrap())
        .collect();
    orders.sort_unstable();
    assert_eq!(orders, [0, 2, 4, 6, 8]);
    // Latency: positive, and below the test's own wall time.
    for d in &delivered {
        let l = d.latency.unwrap();
        assert!(l > Duration::ZERO && l < start.elapsed(), "{l:?}");
    }
    // The unmatched half never arrives.
    let late = probe
        .receive(1, Duration::from_secs(1), None)
        .await
        .unwrap();
    assert!(late.is_empty(), "{late:?}");
}
