//! Lambda measurements against the local stack: a real `lambda_runtime`
//! function (`src/bin/perf-test-fn.rs`) in local processes attached to
//! cargo-lambda, invoked through `aws-sdk-lambda`. Run under
//! `scripts/aws-stack -- cargo test ...`; without the stack each test
//! prints how to start it (and fails when `CI=true`).

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use perf_runtime::aws::lambda::{Function, InvokeError, MemorySweep, Prices};
use perf_runtime::aws::{self, HttpTuning, Stack};
use perf_runtime::prelude::*;
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_perf-test-fn");

fn quiet(name: &str) -> PerfTest {
    PerfTest::new(name).no_report_file().quiet()
}

async fn function(stack: &Stack, concurrency: usize) -> Function {
    Function::builder("perf-test-fn")
        .local_binary(BIN)
        .concurrency(concurrency)
        .env("INIT_SLEEP_MS", "200")
        .connect(stack)
        .await
        .unwrap()
}

fn response(payload: &[u8]) -> Value {
    serde_json::from_slice(payload).unwrap()
}

// The function processes run under one function name; tests that start
// them must not overlap (cargo-lambda would hand one test's invocations to
// the other's processes).
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invocations_are_tagged_cold_then_warm_with_sizes() {
    let Some(stack) = aws::stack_or_skip("invocations_are_tagged_cold_then_warm_with_sizes") else {
        return;
    };
    let _one = ONE_AT_A_TIME.lock().await;
    let started = std::time::Instant::now();
    let f = Arc::new(function(&stack, 2).await);
    let payload = br#"{"sleep_ms": 1}"#;
    let invoked = f.clone();
    // The processes began their 200 ms init before this: a cold
    // invocation waits for what is left of it.
    let init_done_before_run = started.elapsed();
    let report = quiet("lambda::cold_warm")
        .workers(2)
        .repeat(30)
        .threshold(
            Threshold::p(50.0)
                .lt(Duration::from_millis(150))
                .for_tag("warm"),
        )
        .run_async(move |ctx| {
            let f = invoked.clone();
            async move { f.invoke(&ctx, payload).await.map(drop) }
        })
        .await
        .unwrap();
    report.assert_passed();
    // Two processes were started: the first two invocations are cold.
    let (cold, warm) = (&report.tags["cold"], &report.tags["warm"]);
    assert_eq!((cold.iterations, warm.iterations), (2, 28));
    // A cold start includes what was left of the function's 200 ms init
    // when the run began (CI once saw a cold start under 200 ms: the
    // processes had started their init before); a warm one does not.
    let cold_min = Duration::from_nanos(cold.latency.min_ns);
    assert!(
        cold_min + init_done_before_run >= Duration::from_millis(200),
        "cold {cold_min:?}, {init_done_before_run:?} of the init before the run"
    );
    assert!(warm.latency.percentile(50.0).unwrap() < Duration::from_millis(150));
    let sent = &report.custom["request_bytes"];
    assert_eq!((sent.count, sent.mean), (30, payload.len() as f64));
    assert!(report.custom["response_bytes"].min > 10.0);
    // No REPORT line locally: no billed duration.
    assert!(!report.custom.contains_key("billed_duration"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn function_errors_and_timeouts_are_classed() {
    let Some(stack) = aws::stack_or_skip("function_errors_and_timeouts_are_classed") else {
        return;
    };
    let _one = ONE_AT_A_TIME.lock().await;
    let f = Arc::new(function(&stack, 1).await);
    let invoked = f.clone();
    let report = quiet("lambda::errors")
        .workers(1)
        .repeat(20)
        .threshold(Threshold::class_rate("function_error").lt(0.6))
        .threshold(Threshold::error_rate().lt(0.6))
        .run_async(move |ctx| {
            let f = invoked.clone();
            async move {
                let payload: &[u8] = if ctx.iteration() % 2 == 1 {
                    br#"{"fail": "no stock"}"#
                } else {
                    b"{}"
                };
                f.invoke(&ctx, payload).await.map(drop)
            }
        })
        .await
        .unwrap();
    report.assert_passed();
    assert_eq!(report.errors, 10);
    assert_eq!(report.error_classes.get("function_error"), Some(&10));
    assert!(
        report.first_errors[0].message.contains("no stock"),
        "{:?}",
        report.first_errors[0]
    );

    // A client timeout shorter than the function's work: class `timeout`.
    // (No init sleep here: the first call only starts the process.)
    drop(f);
    let slow = Function::builder("perf-test-fn")
        .local_binary(BIN)
        .http(HttpTuning {
            operation_timeout: Some(Duration::from_millis(500)),
            ..HttpTuning::default()
        })
        .connect(&stack)
        .await
        .unwrap();
    slow.call(b"{}").await.unwrap();
    let err = slow.call(br#"{"sleep_ms": 1500}"#).await.unwrap_err();
    assert!(matches!(err, InvokeError::Timeout(_)), "{err:?}");
    assert_eq!(err.class(), "timeout");
    // Let the function finish the abandoned invocation before the next test.
    tokio::time::sleep(Duration::from_millis(1_100)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn workers_run_on_as_many_execution_environments() {
    let Some(stack) = aws::stack_or_skip("workers_run_on_as_many_execution_environments") else {
        return;
    };
    let _one = ONE_AT_A_TIME.lock().await;
    let f = Arc::new(function(&stack, 4).await);
    let pids = Arc::new(Mutex::new(HashSet::new()));
    let (invoked, seen) = (f.clone(), pids.clone());
    let report = quiet("lambda::concurrency")
        .workers(4)
        .repeat(16)
        .run_async(move |ctx| {
            let (f, seen) = (invoked.clone(), seen.clone());
            async move {
                let inv = f.invoke(&ctx, br#"{"sleep_ms": 200}"#).await?;
                seen.lock()
                    .unwrap()
                    .insert(response(&inv.payload)["pid"].as_u64());
                Ok::<_, InvokeError>(())
            }
        })
        .await
        .unwrap();
    report.assert_passed();
    assert_eq!(pids.lock().unwrap().len(), 4);
    // 16 invocations of 200 ms on 4 environments: 4 rounds, not 16
    // (plus the cold starts' 200 ms init; 16 rounds would be 3.2 s).
    assert!(
        report.elapsed_ns < 2_500_000_000,
        "{} ns",
        report.elapsed_ns
    );

    // One environment: every invocation on the same process.
    f.set_concurrency(1).await.unwrap();
    let mut one = HashSet::new();
    for _ in 0..4 {
        one.insert(response(&f.call(b"{}").await.unwrap().payload)["pid"].as_u64());
    }
    assert_eq!(one.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forced_cold_start_is_a_new_process() {
    let Some(stack) = aws::stack_or_skip("a_forced_cold_start_is_a_new_process") else {
        return;
    };
    let _one = ONE_AT_A_TIME.lock().await;
    let f = function(&stack, 1).await;
    let first = f.call(b"{}").await.unwrap();
    let warm = f.call(b"{}").await.unwrap();
    assert_eq!((first.cold, warm.cold), (Some(true), Some(false)));
    assert_eq!(response(&warm.payload)["handled"], 2);
    f.force_cold_start().await.unwrap();
    let cold = f.call(b"{}").await.unwrap();
    assert_eq!(cold.cold, Some(true));
    assert_eq!(response(&cold.payload)["handled"], 1);
    assert_ne!(
        response(&cold.payload)["pid"],
        response(&warm.payload)["pid"]
    );
    assert!(
        cold.latency >= Duration::from_millis(200),
        "{:?}",
        cold.latency
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_memory_sweep_sets_each_size_and_prices_it() {
    let Some(stack) = aws::stack_or_skip("the_memory_sweep_sets_each_size_and_prices_it") else {
        return;
    };
    let _one = ONE_AT_A_TIME.lock().await;
    let f = function(&stack, 1).await;
    let sweep = MemorySweep {
        sizes: vec![128, 1024],
        invocations: 5,
        prices: Prices::default(),
    };
    let result = sweep.run(&f, br#"{"sleep_ms": 20}"#).await.unwrap();
    println!("{result}");
    assert_eq!(result.rows.len(), 2);
    for row in &result.rows {
        assert_eq!((row.invocations, row.errors), (5, 0));
        // Billed time covers the 20 ms of work.
        assert!(row.p50 >= Duration::from_millis(20));
        // Cost is linear in billed time: the mean cost is the cost of the
        // mean (HDR keeps 3 significant digits).
        let expected = sweep.prices.cost(row.memory_mb, row.mean);
        assert!((row.cost_per_invocation / expected - 1.0).abs() < 0.01);
    }
    // The function saw the new size.
    let inv = f.call(b"{}").await.unwrap();
    assert_eq!(response(&inv.payload)["memory_mb"], "1024");
    // Same work at 8x the memory costs more: 1024 MB is not the cheapest.
    assert_eq!(result.cheapest().unwrap().memory_mb, 128);
    assert!(result.source.contains("client latency"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leak_detection_sees_rss_growth_of_the_function() {
    let Some(stack) = aws::stack_or_skip("leak_detection_sees_rss_growth_of_the_function") else {
        return;
    };
    let _one = ONE_AT_A_TIME.lock().await;
    let f = function(&stack, 1).await;
    // 256 KiB kept per invocation: 10 MiB over 40.
    let leaking = f.memory_growth(40, br#"{"leak_kb": 256}"#).await.unwrap();
    let slope = leaking.bytes_per_invocation();
    assert!(
        slope > 200.0 * 1024.0 && slope < 320.0 * 1024.0,
        "{slope} B/invocation"
    );
    assert!(leaking.is_leaking(16.0 * 1024.0, 4 << 20));
    f.force_cold_start().await.unwrap();
    let steady = f.memory_growth(40, b"{}").await.unwrap();
    assert!(
        !steady.is_leaking(16.0 * 1024.0, 4 << 20),
        "{} B/invocation: {:?}",
        steady.bytes_per_invocation(),
        steady.samples
    );
}
