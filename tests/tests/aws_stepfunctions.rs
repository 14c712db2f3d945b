//! Step Functions traces against the local stack (moto runs executions for
//! real: Pass, Wait, Parallel, Map, Task with Retry/Catch, with millisecond
//! history timestamps).

use std::sync::Arc;
use std::time::Duration;

use perf_runtime::aws::sfn::{execution_name, ExecutionError, ScratchStateMachine, Workflow};
use perf_runtime::aws::{self, HttpTuning};
use perf_runtime::prelude::*;

const ROLE: &str = "arn:aws:iam::123456789012:role/perf-runtime-tests";

async fn machine(prefix: &str, definition: serde_json::Value) -> ScratchStateMachine {
    let client = Workflow::connect("", &HttpTuning::default())
        .await
        .client()
        .clone();
    ScratchStateMachine::create(&client, prefix, &definition.to_string(), ROLE)
        .await
        .unwrap()
}

/// A Wait of `target` as the history shows it: never shorter than the wait
/// (20 ms covers the millisecond timestamps at both ends), and late by at most
/// half a second. moto runs each execution on a thread of its own, so on a
/// loaded 2-core machine the end of a wait can be seen tens of milliseconds
/// late (CI saw 68 ms); half a second still tells a 1 s wait from no wait.
fn waited(d: Duration, target: Duration) -> bool {
    d >= target.saturating_sub(Duration::from_millis(20))
        && d <= target + Duration::from_millis(500)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trace_times_states_transitions_branches_and_iterations() {
    let Some(_stack) = aws::stack_or_skip("a_trace_times_states") else {
        return;
    };
    let m = machine(
        "perf-trace",
        serde_json::json!({
            "StartAt": "Validate",
            "States": {
                "Validate": {"Type": "Pass", "Next": "Hold"},
                "Hold": {"Type": "Wait", "Seconds": 1, "Next": "Fan"},
                "Fan": {"Type": "Parallel", "Next": "Items", "ResultPath": null, "Branches": [
                    {"StartAt": "Quick", "States": {"Quick": {"Type": "Pass", "End": true}}},
                    {"StartAt": "Slow", "States": {"Slow": {"Type": "Wait", "Seconds": 1, "End": true}}}
                ]},
                "Items": {"Type": "Map", "ItemsPath": "$.items", "End": true,
                    "Iterator": {"StartAt": "Item", "States": {"Item": {"Type": "Pass", "End": true}}}}
            }
        }),
    )
    .await;
    let trace = m
        .workflow()
        .execute(r#"{"items": [1, 2, 3, 4]}"#, Some(Duration::from_secs(30)))
        .await
        .unwrap();
    let ms = Duration::from_millis;
    // A Wait(1s) state measures 1 s, or a little more.
    let hold = trace.state("Hold").next().unwrap();
    assert_eq!(hold.kind, "Wait");
    assert!(waited(hold.duration, ms(1_000)), "{hold:?}");
    // Two 1 s waits in sequence: 2 s in all, or a little more.
    assert!(
        trace.total >= ms(1_980) && trace.total <= ms(3_000),
        "{:?}",
        trace.total
    );
    assert!(trace.client_latency >= trace.total.saturating_sub(ms(50)));
    // Two branches: one instant, one 1 s.
    let mut branches = trace.parallel_branches.clone();
    branches.sort();
    assert_eq!(branches.len(), 2, "{branches:?}");
    assert!(
        branches[0] < ms(500) && waited(branches[1], ms(1_000)),
        "{branches:?}"
    );
    // Four Map iterations, the Item state once each.
    assert_eq!(trace.map_iterations.len(), 4);
    assert_eq!(trace.state("Item").count(), 4);
    // Transitions between top-level states, in order.
    let path: Vec<(&str, &str)> = trace
        .transitions
        .iter()
        .map(|t| (t.from.as_str(), t.to.as_str()))
        .filter(|(from, _)| *from != "Item" && *from != "Quick" && *from != "Slow")
        .collect();
    assert_eq!(
        path,
        [("Validate", "Hold"), ("Hold", "Fan"), ("Fan", "Items")]
    );
    // No state waits on the previous one: every gap is far below the 1 s waits.
    assert!(
        trace.transitions.iter().all(|t| t.gap < ms(500)),
        "{:?}",
        trace.transitions
    );
    assert_eq!((trace.retries(), trace.caught_errors()), (0, 0));
}

/// The same failing task with Retry and Catch: retries and the caught error
/// are counted, and the time spent recovering (two 1 s retry intervals) is
/// measured.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retries_and_caught_errors_with_recovery_time() {
    let Some(_stack) = aws::stack_or_skip("retries_and_caught_errors") else {
        return;
    };
    let m = machine(
        "perf-retry",
        serde_json::json!({
            "StartAt": "Charge",
            "States": {
                "Charge": {
                    "Type": "Task",
                    "Resource": "arn:aws:states:::dynamodb:getItem",
                    "Parameters": {"TableName": "perf-no-such-table", "Key": {"pk": {"S": "a"}}},
                    "Retry": [{"ErrorEquals": ["States.ALL"], "IntervalSeconds": 1, "MaxAttempts": 2, "BackoffRate": 1.0}],
                    "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Refund", "ResultPath": null}],
                    "ResultPath": null,
                    "End": true
                },
                "Refund": {"Type": "Pass", "End": true}
            }
        }),
    )
    .await;
    let workflow = Arc::new(m.workflow().clone());
    let report = PerfTest::new("sfn::retries")
        .no_report_file()
        .quiet()
        .workers(1)
        .repeat(2)
        .threshold(
            Threshold::of("state:Charge")
                .p(95.0)
                .lt_duration(Duration::from_secs(5)),
        )
        .threshold(Threshold::of("caught_errors").sum().le(2.0))
        .run_async(move |ctx| {
            let w = workflow.clone();
            async move { w.run(&ctx, "{}").await.map(drop) }
        })
        .await
        .unwrap();
    report.assert_passed();
    assert_eq!(report.custom["retries"].sum, 4.0);
    assert_eq!(report.custom["caught_errors"].sum, 2.0);
    let recovery = &report.custom["recovery"];
    assert_eq!(recovery.count, 2);
    // Two 1 s retry intervals between the first failure and the exit.
    assert!(
        recovery.min >= 1.9e9 && recovery.max < 3.0e9,
        "{recovery:?}"
    );
    assert_eq!(report.custom["state:Refund"].count, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failures_timeouts_and_no_leaked_executions() {
    let Some(_stack) = aws::stack_or_skip("failures_timeouts_and_no_leaked_executions") else {
        return;
    };
    let failing = machine(
        "perf-fail",
        serde_json::json!({
            "StartAt": "Check",
            "States": {
                "Check": {"Type": "Pass", "Next": "Reject"},
                "Reject": {"Type": "Fail", "Error": "OrderRejected", "Cause": "no stock"}
            }
        }),
    )
    .await;
    let err = failing.workflow().execute("{}", None).await.unwrap_err();
    assert_eq!(err.class(), "execution_failed");
    match &err {
        ExecutionError::Failed { cause, trace } => {
            assert!(cause.contains("OrderRejected"), "{cause}");
            assert_eq!(trace.status, "FAILED");
            assert_eq!(trace.state("Check").count(), 1);
        }
        other => panic!("{other:?}"),
    }

    // Longer than the caller's limit: stopped, class `timeout`.
    let long = machine(
        "perf-long",
        serde_json::json!({
            "StartAt": "Sleep",
            "States": {"Sleep": {"Type": "Wait", "Seconds": 30, "End": true}}
        }),
    )
    .await;
    let w = long.workflow();
    let err = w
        .execute("{}", Some(Duration::from_millis(500)))
        .await
        .unwrap_err();
    assert_eq!(err.class(), "timeout", "{err}");
    // Another left running is stopped at the end of the test.
    let left = w
        .client()
        .start_execution()
        .state_machine_arn(w.arn())
        .name(execution_name())
        .send()
        .await
        .unwrap()
        .execution_arn;
    assert_eq!(w.stop_all_running().await.unwrap(), 1);
    let status = w
        .client()
        .describe_execution()
        .execution_arn(&left)
        .send()
        .await
        .unwrap()
        .status;
    assert_eq!(status.as_str(), "ABORTED");
}

/// Express workflows run through `StartSyncExecution`, which the SDK sends
/// to the host `sync-<endpoint>`; against a custom endpoint (the local
/// stack) that host does not exist, and the call must reach the endpoint
/// itself. moto 5.2 does not implement `StartSyncExecution`: there the
/// test checks that the answer came from moto (an HTTP error response, not
/// a connection failure); on a stack that implements it, the run's timing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn express_runs_reach_a_custom_endpoint_without_the_sync_host_prefix() {
    let Some(_stack) = aws::stack_or_skip("express_runs_reach_a_custom_endpoint") else {
        return;
    };
    let client = Workflow::connect("", &HttpTuning::default())
        .await
        .client()
        .clone();
    let express = ScratchStateMachine::create_express(
        &client,
        "perf-express",
        &serde_json::json!({
            "StartAt": "Done",
            "States": {"Done": {"Type": "Pass", "End": true}}
        })
        .to_string(),
        ROLE,
    )
    .await
    .unwrap();
    match express.workflow().execute_express("{}").await {
        Ok(run) => {
            assert_eq!(run.status, "SUCCEEDED");
            assert!(run.total <= run.client_latency, "{run:?}");
        }
        Err(ExecutionError::Api(text)) => {
            assert!(
                !text.contains("dispatch failure"),
                "never reached the endpoint: {text}"
            );
            assert!(!text.contains("sync-"), "{text}");
            assert!(text.starts_with("StartSyncExecution: "), "{text}");
        }
        Err(other) => panic!("{other:?}"),
    }
}
