//! Step Functions performance, the original framework's
//! `stepfunctions_performance_test.go` in Rust: parallel executions, state
//! transition times, error handling overhead, long-running workflows, Map
//! batches. Each execution's history becomes a trace whose states,
//! transitions and iterations are custom metrics (`state:<Name>`,
//! `transition`, `map_iteration`, `retries`, `recovery`), so thresholds
//! target them. moto runs the executions for real on the local stack.

use std::sync::Arc;
use std::time::Duration;

use perf_examples::load;
use perf_runtime::aws::sfn::{ScratchStateMachine, Workflow};
use perf_runtime::aws::{self, HttpTuning};
use perf_runtime::prelude::*;
use serde_json::json;

const ROLE: &str = "arn:aws:iam::123456789012:role/orders-workflow";

async fn machine(prefix: &str, definition: serde_json::Value) -> ScratchStateMachine {
    let client = Workflow::connect("", &HttpTuning::default())
        .await
        .client()
        .clone();
    ScratchStateMachine::create(&client, prefix, &definition.to_string(), ROLE)
        .await
        .expect("state machine created")
}

/// An order workflow: validate, then price and reserve in parallel, then
/// confirm.
fn order_flow() -> serde_json::Value {
    json!({
        "StartAt": "ValidateOrder",
        "States": {
            "ValidateOrder": {"Type": "Pass", "Next": "ProcessOrder"},
            "ProcessOrder": {"Type": "Parallel", "ResultPath": null, "Next": "ConfirmOrder", "Branches": [
                {"StartAt": "PriceItems", "States": {"PriceItems": {"Type": "Pass", "End": true}}},
                {"StartAt": "ReserveStock", "States": {"ReserveStock": {"Type": "Pass", "End": true}}}
            ]},
            "ConfirmOrder": {"Type": "Pass", "End": true}
        }
    })
}

/// Parallel executions: 8 workers start 64 executions of the order flow,
/// each traced from its history.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parallel_executions() {
    if aws::stack_or_skip("parallel_executions").is_none() {
        return;
    }
    let m = machine("orders-parallel", order_flow()).await;
    let flow = Arc::new(m.workflow().clone());
    let report = PerfTest::new("stepfunctions_performance::parallel_executions")
        .workers(load(8, 32) as usize)
        .repeat(load(64, 1_000))
        .threshold(
            Threshold::of("execution")
                .p(95.0)
                .lt_duration(Duration::from_secs(2)),
        )
        .threshold(Threshold::error_rate().lt(0.01))
        .run_async(move |ctx| {
            let flow = flow.clone();
            async move { flow.run(&ctx, r#"{"order": 1}"#).await.map(drop) }
        })
        .await
        .unwrap();
    report.assert_passed();
    assert_eq!(report.custom["execution"].count, load(64, 1_000));
    assert_eq!(report.custom["parallel_branch"].count, 128);
}

/// State transition times: how long each state and each hop between
/// states takes, with budgets per state.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn state_transition_times() {
    if aws::stack_or_skip("state_transition_times").is_none() {
        return;
    }
    let m = machine("orders-states", order_flow()).await;
    let flow = Arc::new(m.workflow().clone());
    let report = PerfTest::new("stepfunctions_performance::state_transition_times")
        .workers(2)
        .repeat(20)
        .threshold(
            Threshold::of("state:ProcessOrder")
                .p(95.0)
                .lt_duration(Duration::from_millis(500)),
        )
        .threshold(
            Threshold::of("state:ValidateOrder")
                .p(95.0)
                .lt_duration(Duration::from_millis(200)),
        )
        .threshold(
            Threshold::of("transition")
                .p(95.0)
                .lt_duration(Duration::from_millis(100)),
        )
        .run_async(move |ctx| {
            let flow = flow.clone();
            async move { flow.run(&ctx, "{}").await.map(drop) }
        })
        .await
        .unwrap();
    report.assert_passed();
    // ValidateOrder→ProcessOrder and ProcessOrder→ConfirmOrder per run.
    assert_eq!(report.custom["transition"].count, 40);
}

/// Error handling overhead: a payment step that fails and is retried twice
/// (1 s apart) before its Catch refunds, against the same flow when the
/// step succeeds at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn error_handling_overhead() {
    if aws::stack_or_skip("error_handling_overhead").is_none() {
        return;
    }
    let flow = |table: &str| {
        json!({
            "StartAt": "ChargePayment",
            "States": {
                "ChargePayment": {
                    "Type": "Task",
                    "Resource": "arn:aws:states:::dynamodb:getItem",
                    "Parameters": {"TableName": table, "Key": {"pk": {"S": "customer#1"}, "sk": {"N": "1"}}},
                    "ResultPath": null,
                    "Retry": [{"ErrorEquals": ["States.ALL"], "IntervalSeconds": 1, "MaxAttempts": 2, "BackoffRate": 1.0}],
                    "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Refund", "ResultPath": null}],
                    "End": true
                },
                "Refund": {"Type": "Pass", "End": true}
            }
        })
    };
    let table = perf_examples::orders::orders_table("orders-payments")
        .await
        .unwrap();
    let healthy = machine("orders-pay-ok", flow(table.name())).await;
    let failing = machine(
        "orders-pay-fail",
        flow("payments-table-that-does-not-exist"),
    )
    .await;
    let mut means = Vec::new();
    for (label, m) in [("healthy", &healthy), ("failing", &failing)] {
        let flow = Arc::new(m.workflow().clone());
        let report = PerfTest::new(format!(
            "stepfunctions_performance::error_handling_overhead::{label}"
        ))
        .workers(2)
        .repeat(4)
        .run_async(move |ctx| {
            let flow = flow.clone();
            async move { flow.run(&ctx, "{}").await.map(drop) }
        })
        .await
        .unwrap();
        report.assert_passed();
        means.push((
            label,
            report.custom["execution"].mean / 1e6,
            report.custom["retries"].sum,
            report.custom["execution"].min / 1e6,
        ));
    }
    perf_runtime::print_figures(&format!(
        "error handling overhead: healthy {:.1} ms ({} retries), failing with Retry+Catch {:.1} ms ({} retries)",
        means[0].1, means[0].2, means[1].1, means[1].2
    ));
    // Two 1 s retry intervals are the overhead. Compared on the fastest
    // execution of each: a busy machine slows some healthy executions too
    // (CI once saw a healthy mean of 1.6 s), never below the intervals.
    // The failing flow can never be faster than its two intervals; the gap
    // to the healthy flow is checked with a quarter of the signal to spare.
    assert!(means[1].3 >= 2_000.0, "{means:?}");
    assert!(means[1].3 - means[0].3 > 1_500.0, "{means:?}");
    assert_eq!((means[0].2, means[1].2), (0.0, 8.0));
}

/// A long-running workflow: one that would wait 5 minutes is stopped when
/// it outlasts the test's limit, and none is left running afterwards.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn long_running_workflow() {
    if aws::stack_or_skip("long_running_workflow").is_none() {
        return;
    }
    let m = machine(
        "orders-long",
        json!({"StartAt": "AwaitShipment", "States": {"AwaitShipment": {"Type": "Wait", "Seconds": 300, "End": true}}}),
    )
    .await;
    let err = m
        .workflow()
        .execute("{}", Some(Duration::from_secs(1)))
        .await
        .unwrap_err();
    perf_runtime::print_figures(&format!("long-running workflow: {err}"));
    assert_eq!(err.class(), "timeout");
    assert_eq!(m.workflow().stop_all_running().await.unwrap(), 0);
}

/// Batch processing through Map: 25 orders per execution, each iteration
/// timed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn map_batch_processing() {
    if aws::stack_or_skip("map_batch_processing").is_none() {
        return;
    }
    let m = machine(
        "orders-map",
        json!({
            "StartAt": "ProcessBatch",
            "States": {"ProcessBatch": {"Type": "Map", "ItemsPath": "$.orders", "MaxConcurrency": 5, "End": true,
                "Iterator": {"StartAt": "PriceOrder", "States": {"PriceOrder": {"Type": "Pass", "End": true}}}}}
        }),
    )
    .await;
    let flow = Arc::new(m.workflow().clone());
    let input = json!({"orders": (0..25).collect::<Vec<u32>>()}).to_string();
    let report = PerfTest::new("stepfunctions_performance::map_batch_processing")
        .workers(2)
        .repeat(6)
        .threshold(
            Threshold::of("map_iteration")
                .p(95.0)
                .lt_duration(Duration::from_millis(500)),
        )
        .run_async(move |ctx| {
            let (flow, input) = (flow.clone(), input.clone());
            async move { flow.run(&ctx, &input).await.map(drop) }
        })
        .await
        .unwrap();
    report.assert_passed();
    assert_eq!(report.custom["map_iteration"].count, 150);
}
