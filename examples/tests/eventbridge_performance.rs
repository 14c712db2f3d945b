//! EventBridge performance, the original framework's
//! `eventbridge_performance_test.go` in Rust: publishing throughput, rule
//! processing, delivery latency, event filtering. Each test makes its own
//! bus, queue and rule (unique names) and deletes them afterwards.
//!
//! Dead-letter queue analysis is not here: moto does not route failed
//! deliveries to a target's DLQ (it fails the whole `PutEvents` instead).

use std::sync::Arc;
use std::time::Duration;

use perf_examples::load;
use perf_runtime::aws::eventbridge::{DeliveryProbe, Event, PublishOutcome, ScratchRoute};
use perf_runtime::aws::{self, Backoff};
use perf_runtime::prelude::*;
use serde_json::json;

async fn orders_route(prefix: &str, detail_type: &str) -> ScratchRoute {
    ScratchRoute::create(
        prefix,
        &json!({"source": ["orders"], "detail-type": [detail_type]}),
    )
    .await
    .expect("bus, queue and rule created")
}

fn published(outcome: PublishOutcome) -> Result<(), String> {
    if outcome.failed.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "failed entries by code: {:?}",
            outcome.failed_by_code
        ))
    }
}

/// 20 iterations, each publishing one stamped `OrderPlaced` event with
/// `detail(iteration)` and waiting for it on the route's queue
/// (`delivery_latency`, p95 under 2 s).
async fn one_event_deliveries(
    name: String,
    route: &ScratchRoute,
    detail: fn(u64) -> serde_json::Value,
) -> perf_runtime::Report {
    let probe = Arc::new(DeliveryProbe::connect(route.queue_url(), None).await);
    let bus = Arc::new(route.bus().clone());
    PerfTest::new(name)
        .workers(1)
        .repeat(20)
        .threshold(
            Threshold::of("delivery_latency")
                .p(95.0)
                .lt_duration(Duration::from_secs(2)),
        )
        .run_async(move |ctx| {
            let (bus, probe) = (bus.clone(), probe.clone());
            async move {
                let event = Event::stamped("orders", "OrderPlaced", detail(ctx.iteration()));
                published(bus.put_events(vec![event], &Backoff::default()).await)?;
                match probe
                    .receive(1, Duration::from_secs(5), Some(&ctx))
                    .await?
                    .len()
                {
                    1 => Ok(()),
                    n => Err(format!("{n} events delivered, expected 1")),
                }
            }
        })
        .await
        .unwrap()
}

/// Publishing throughput: 4 workers each publish a batch of 10 events per
/// iteration (one `PutEvents` request).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn event_publishing_throughput() {
    if aws::stack_or_skip("event_publishing_throughput").is_none() {
        return;
    }
    let route = orders_route("orders-publish", "OrderPlaced").await;
    let bus = Arc::new(route.bus().clone());
    let report = PerfTest::new("eventbridge_performance::event_publishing_throughput")
        .workers(load(4, 16) as usize)
        .repeat(load(50, 2_000))
        .threshold(Threshold::p(95.0).lt(Duration::from_millis(500)))
        .threshold(Threshold::error_rate().lt(0.01))
        .run_async(move |ctx| {
            let bus = bus.clone();
            async move {
                let events = (0..10)
                    .map(|i| {
                        Event::stamped(
                            "orders",
                            "OrderAudited",
                            json!({"batch": ctx.iteration(), "i": i}),
                        )
                    })
                    .collect();
                let outcome = bus.put_events(events, &Backoff::default()).await;
                ctx.count("events", outcome.published);
                published(outcome)
            }
        })
        .await
        .unwrap();
    report.assert_passed();
    assert_eq!(report.custom["events"].sum, 10.0 * load(50, 2_000) as f64);
}

/// Delivery latency: events that match the rule, from publish to their
/// receipt from the target queue, with a budget on the p95.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn event_delivery_latency() {
    if aws::stack_or_skip("event_delivery_latency").is_none() {
        return;
    }
    let route = orders_route("orders-delivery", "OrderPlaced").await;
    let report = one_event_deliveries(
        "eventbridge_performance::event_delivery_latency".into(),
        &route,
        |i| json!({"order": i}),
    )
    .await;
    report.assert_passed();
    assert_eq!(report.custom["delivery_latency"].count, 20);
}

/// Rule processing and filtering: of 40 events of four types, exactly the
/// 10 `OrderPlaced` ones reach the rule's queue, each once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rule_processing_and_filtering() {
    if aws::stack_or_skip("rule_processing_and_filtering").is_none() {
        return;
    }
    let route = orders_route("orders-filter", "OrderPlaced").await;
    let kinds = [
        "OrderPlaced",
        "OrderCancelled",
        "OrderShipped",
        "PaymentFailed",
    ];
    let events: Vec<Event> = (0..40)
        .map(|i| Event::stamped("orders", kinds[i % 4], json!({"order": i})))
        .collect();
    let outcome = route.bus().put_events(events, &Backoff::default()).await;
    assert_eq!((outcome.published, outcome.requests), (40, 4));
    let probe = DeliveryProbe::connect(route.queue_url(), None).await;
    let delivered = probe
        .receive(10, Duration::from_secs(10), None)
        .await
        .unwrap();
    let late = probe
        .receive(1, Duration::from_secs(1), None)
        .await
        .unwrap();
    let mut orders: Vec<u64> = delivered
        .iter()
        .map(|d| d.detail["order"].as_u64().unwrap())
        .collect();
    orders.sort_unstable();
    let p95 = {
        let mut l: Vec<Duration> = delivered.iter().filter_map(|d| d.latency).collect();
        l.sort();
        l.get(l.len().saturating_sub(1) * 95 / 100)
            .copied()
            .unwrap_or_default()
    };
    perf_runtime::print_figures(&format!(
        "rule filtering: 40 published in {} requests, {} delivered (all OrderPlaced: {}), {} unmatched delivered; delivery p95 {p95:?}",
        outcome.requests,
        delivered.len(),
        delivered.iter().all(|d| d.detail_type == "OrderPlaced"),
        late.len()
    ));
    assert_eq!(orders, (0..40).step_by(4).collect::<Vec<u64>>());
    assert!(late.is_empty());
}

/// Pattern complexity: the same matching events through a one-field rule
/// and through a rule using prefix, numeric range, anything-but and exists
/// matching, delivery latency of each; and `TestEventPattern` timing of
/// both patterns where the service implements it (AWS; moto 5.2 does not,
/// and says so instead of answering "no match").
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rule_pattern_complexity() {
    let Some(stack) = aws::stack_or_skip("rule_pattern_complexity") else {
        return;
    };
    let simple = json!({"source": ["orders"]});
    let complex = json!({
        "source": ["orders"],
        "detail-type": [{"prefix": "Order"}],
        "detail": {
            "total": [{"numeric": [">", 100, "<=", 10000]}],
            "channel": [{"anything-but": ["test"]}],
            "coupon": [{"exists": false}]
        }
    });
    let mut lines = Vec::new();
    for (label, pattern) in [("simple", &simple), ("complex", &complex)] {
        let route = ScratchRoute::create(&format!("orders-{label}"), pattern)
            .await
            .expect("bus, queue and rule created");
        let report = one_event_deliveries(
            format!("eventbridge_performance::rule_pattern_complexity::{label}"),
            &route,
            |i| json!({"order": i, "total": 250, "channel": "web"}),
        )
        .await;
        report.assert_passed();
        let delivery = &report.custom["delivery_latency"];
        let sample = Event::stamped(
            "orders",
            "OrderPlaced",
            json!({"total": 250, "channel": "web"}),
        );
        let evaluation = match route
            .bus()
            .test_pattern(pattern, &sample.as_rule_input(), None)
            .await
        {
            Ok(matched) => {
                let t = std::time::Instant::now();
                route
                    .bus()
                    .test_pattern(pattern, &sample.as_rule_input(), None)
                    .await
                    .unwrap();
                format!("TestEventPattern {:?} (matched: {matched})", t.elapsed())
            }
            Err(e) if matches!(stack, aws::Stack::Local(_)) => {
                assert!(e.contains("does not implement TestEventPattern"), "{e}");
                "TestEventPattern not served by the local stack".to_owned()
            }
            Err(e) => panic!("{e}"),
        };
        lines.push(format!(
            "  {label:<8} delivery p50 {:.1?}, p95 {:.1?} over {} events; {evaluation}",
            delivery.percentile(50.0).unwrap_or_default(),
            delivery.percentile(95.0).unwrap_or_default(),
            delivery.count
        ));
    }
    perf_runtime::print_figures(&format!("rule pattern complexity:\n{}", lines.join("\n")));
}

/// Dead-letter queue analysis: a route whose target has a DLQ (2 retries);
/// after 50 events are delivered, the DLQ is read and must be empty. On
/// AWS, a failing target fills it and the summary shows why, by error code.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dead_letter_queue_analysis() {
    if aws::stack_or_skip("dead_letter_queue_analysis").is_none() {
        return;
    }
    let route =
        ScratchRoute::create_with_dead_letters("orders-dlq", &json!({"source": ["orders"]}), 2)
            .await
            .expect("bus, queues and rule created");
    let events: Vec<Event> = (0..50)
        .map(|i| Event::stamped("orders", "OrderPlaced", json!({"order": i})))
        .collect();
    let outcome = route.bus().put_events(events, &Backoff::default()).await;
    published(outcome).unwrap();
    let delivered = DeliveryProbe::connect(route.queue_url(), None)
        .await
        .receive(50, Duration::from_secs(15), None)
        .await
        .unwrap();
    let dead = DeliveryProbe::connect(route.dead_letter_url().unwrap(), None)
        .await
        .dead_letters(0, Duration::from_secs(2))
        .await
        .unwrap();
    perf_runtime::print_figures(&format!(
        "dead-letter queue: 50 published, {} delivered, dead letters: {}",
        delivered.len(),
        dead.summary()
    ));
    assert_eq!(delivered.len(), 50);
    assert!(dead.letters.is_empty(), "dead letters: {}", dead.summary());
}
