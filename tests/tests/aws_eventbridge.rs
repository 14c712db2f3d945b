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

/// `TestEventPattern` answers match or no match with its time recorded; an
/// endpoint that does not implement it (moto 5.2 answers 200 with an empty
/// body, which the SDK would read as "no match") is an error instead.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_event_pattern_is_never_a_silent_no_match() {
    let Some(stack) = aws::stack_or_skip("test_event_pattern_is_never_a_silent_no_match") else {
        return;
    };
    let route = route().await;
    let pattern = json!({"source": ["orders"], "detail": {"total": [{"numeric": [">", 100]}]}});
    let big = Event::stamped("orders", "OrderPlaced", json!({"total": 250})).as_rule_input();
    let small = Event::stamped("orders", "OrderPlaced", json!({"total": 50})).as_rule_input();
    assert_eq!(big["detail"]["total"], 250);
    let answers = (
        route.bus().test_pattern(&pattern, &big, None).await,
        route.bus().test_pattern(&pattern, &small, None).await,
    );
    match (stack, answers) {
        (aws::Stack::Aws, (Ok(a), Ok(b))) => assert_eq!((a, b), (true, false)),
        (aws::Stack::Local(_), (Err(e), _)) => {
            assert!(e.contains("does not implement TestEventPattern"), "{e}")
        }
        (stack, answers) => panic!("{stack:?}: {answers:?}"),
    }
}

/// A route with a dead-letter queue: the target carries the DLQ and the
/// retry policy, delivered events never reach the DLQ, and what lands
/// there is read with EventBridge's attributes. moto keeps the DLQ
/// configuration but never routes to it (it fails the whole PutEvents for
/// a broken target), so the dead letter read here is written the way AWS
/// documents it: the event as the body, `ERROR_CODE`, `ERROR_MESSAGE`,
/// `RULE_ARN`, `TARGET_ARN`, `RETRY_ATTEMPTS` as message attributes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dead_letter_queues_are_configured_and_read() {
    let Some(_stack) = aws::stack_or_skip("dead_letter_queues_are_configured_and_read") else {
        return;
    };
    let route =
        ScratchRoute::create_with_dead_letters("perf-eb-dlq", &json!({"source": ["orders"]}), 2)
            .await
            .unwrap();
    let dlq_url = route.dead_letter_url().unwrap().to_owned();
    let targets = route
        .bus()
        .client()
        .list_targets_by_rule()
        .rule(route.rule())
        .event_bus_name(route.bus().name())
        .send()
        .await
        .unwrap();
    let target = &targets.targets()[0];
    let dlq_arn = target.dead_letter_config().and_then(|d| d.arn()).unwrap();
    assert!(dlq_arn.contains("perf-eb-dlq-dlq-"), "{dlq_arn}");
    assert_eq!(
        target
            .retry_policy()
            .and_then(|r| r.maximum_retry_attempts()),
        Some(2)
    );

    let events: Vec<Event> = (0..5)
        .map(|i| Event::stamped("orders", "OrderPlaced", json!({"order": i})))
        .collect();
    let outcome = route.bus().put_events(events, &Backoff::default()).await;
    assert_eq!(outcome.published, 5);
    let delivered = DeliveryProbe::connect(route.queue_url(), None)
        .await
        .receive(5, Duration::from_secs(10), None)
        .await
        .unwrap();
    assert_eq!(delivered.len(), 5);
    let dlq = DeliveryProbe::connect(&dlq_url, None).await;
    let none = dlq.dead_letters(0, Duration::from_secs(1)).await.unwrap();
    assert_eq!(none.summary(), "none");

    let string = |v: &str| {
        aws_sdk_sqs::types::MessageAttributeValue::builder()
            .data_type("String")
            .string_value(v)
            .build()
            .unwrap()
    };
    let sqs = aws_sdk_sqs::Client::new(&aws::sdk_config(&aws::HttpTuning::default()).await);
    sqs.send_message()
        .queue_url(&dlq_url)
        .message_body(
            json!({"source": "orders", "detail-type": "OrderPlaced", "detail": {"order": 9}})
                .to_string(),
        )
        .message_attributes("ERROR_CODE", string("SDK_CLIENT_ERROR"))
        .message_attributes("ERROR_MESSAGE", string("Unable to invoke Lambda function"))
        .message_attributes(
            "RULE_ARN",
            string("arn:aws:events:us-east-1:123456789012:rule/orders"),
        )
        .message_attributes(
            "TARGET_ARN",
            string("arn:aws:lambda:us-east-1:123456789012:function:fulfil"),
        )
        .message_attributes("RETRY_ATTEMPTS", string("2"))
        .message_attributes("EXHAUSTED_RETRY_CONDITION", string("MaximumRetryAttempts"))
        .send()
        .await
        .unwrap();
    let letters = dlq.dead_letters(1, Duration::from_secs(5)).await.unwrap();
    assert_eq!(letters.summary(), "SDK_CLIENT_ERROR 1");
    let l = &letters.letters[0];
    assert_eq!(
        (l.retry_attempts, l.exhausted.as_deref()),
        (2, Some("MaximumRetryAttempts"))
    );
    assert_eq!(l.event["detail"]["order"], 9);
    assert!(l.target_arn.ends_with("function:fulfil"));
    // Read messages are deleted: the queue is empty again.
    assert!(dlq
        .dead_letters(0, Duration::ZERO)
        .await
        .unwrap()
        .letters
        .is_empty());
}
