//! Lambda performance, the original framework's `lambda_performance_test.go`
//! in Rust: cold vs warm starts, memory size with cost, concurrent
//! executions, timeouts and error rate, leak detection.
//!
//! The function is `src/bin/orders-fn.rs`, a real `lambda_runtime`
//! function. On the local stack (`scripts/aws-stack -- cargo test -p
//! perf-examples`) it runs as local processes attached to cargo-lambda; with
//! `PERF_AWS_STACK=aws` the same tests invoke the deployed `orders-fn`.

use std::sync::Arc;
use std::time::Duration;

use perf_examples::load;
use perf_runtime::aws::lambda::{Function, MemorySweep};
use perf_runtime::aws::{self, HttpTuning, Stack};
use perf_runtime::prelude::*;

const ORDERS_FN: &str = env!("CARGO_BIN_EXE_orders-fn");

/// The function's processes all serve the name `orders-fn`: tests that
/// start them take turns.
static FUNCTION: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

async fn orders_fn(stack: &Stack, concurrency: usize, http: HttpTuning) -> Arc<Function> {
    let f = Function::builder("orders-fn")
        .local_binary(ORDERS_FN)
        .concurrency(concurrency)
        .memory_mb(1024)
        .http(http)
        .connect(stack)
        .await
        .expect("orders-fn reachable");
    Arc::new(f)
}

/// Cold vs warm: every iteration forces a cold start, then invokes once
/// (cold) and four more times (warm). Both distributions are custom
/// duration metrics with their own thresholds; the iteration itself (with
/// the forced restart) is the "cycle" latency.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cold_start_vs_warm_start() {
    let Some(stack) = aws::stack_or_skip("cold_start_vs_warm_start") else {
        return;
    };
    let _turn = FUNCTION.lock().await;
    let f = orders_fn(&stack, 1, HttpTuning::default()).await;
    let report = PerfTest::new("lambda_performance::cold_start_vs_warm_start")
        .workers(1)
        .repeat(10)
        .threshold(
            Threshold::of("cold_start")
                .p(95.0)
                .lt_duration(Duration::from_secs(3)),
        )
        .threshold(
            Threshold::of("warm_start")
                .p(95.0)
                .lt_duration(Duration::from_millis(100)),
        )
        .run_async(move |ctx| {
            let f = f.clone();
            async move {
                f.force_cold_start().await.map_err(|e| e.to_string())?;
                let cold = f
                    .call(br#"{"order": 1, "items": 3}"#)
                    .await
                    .map_err(|e| e.to_string())?;
                ctx.record_duration("cold_start", cold.latency);
                for i in 0..4 {
                    let payload = format!(r#"{{"order": {i}, "items": 3}}"#);
                    let warm = f
                        .call(payload.as_bytes())
                        .await
                        .map_err(|e| e.to_string())?;
                    ctx.record_duration("warm_start", warm.latency);
                }
                Ok::<_, String>(())
            }
        })
        .await
        .unwrap();
    let (cold, warm) = (&report.custom["cold_start"], &report.custom["warm_start"]);
    assert_eq!((cold.count, warm.count), (10, 40));
    // The function's init alone takes 150 ms; a warm call does none.
    assert!(cold.min >= 150e6, "cold min {} ns", cold.min);
    assert!(warm.mean < cold.min);
    report.assert_passed();
}

/// Memory size sweep with cost (what AWS Lambda Power Tuning does): 20 ms
/// of CPU at one vCPU plus 10 ms of I/O per order, at six memory sizes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_size_sweep_with_cost() {
    let Some(stack) = aws::stack_or_skip("memory_size_sweep_with_cost") else {
        return;
    };
    let _turn = FUNCTION.lock().await;
    let f = orders_fn(&stack, 1, HttpTuning::default()).await;
    let sweep = MemorySweep {
        invocations: 8,
        ..MemorySweep::default()
    };
    let result = sweep
        .run(
            &f,
            br#"{"order": 9, "items": 5, "work_ms": 20, "io_ms": 10}"#,
        )
        .await
        .unwrap();
    perf_runtime::print_figures(&result.to_string());
    assert_eq!(result.rows.len(), 6);
    assert!(result.rows.iter().all(|r| r.errors == 0));
    // CPU below one vCPU stretches the work (128 MB: ~14x), so the small
    // sizes are slow; the I/O is paid by the GB-second at every size.
    let row = |mb| result.rows.iter().find(|r| r.memory_mb == mb).unwrap();
    assert!(row(128).mean > row(1769).mean * 4);
    let fastest = result.fastest().unwrap().memory_mb;
    assert!(fastest >= 1769, "fastest {fastest} MB");
}

/// Concurrent executions: 8 workers against a function with 8 execution
/// environments (its reserved concurrency). The first invocation of each is
/// a cold start, tagged `cold`, with its own threshold.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_executions() {
    let Some(stack) = aws::stack_or_skip("concurrent_executions") else {
        return;
    };
    let _turn = FUNCTION.lock().await;
    let f = orders_fn(&stack, 8, HttpTuning::default()).await;
    let report = PerfTest::new("lambda_performance::concurrent_executions")
        .workers(load(8, 32) as usize)
        .repeat(load(200, 5_000))
        .threshold(
            Threshold::p(95.0)
                .lt(Duration::from_millis(500))
                .for_tag("warm"),
        )
        .threshold(
            Threshold::p(95.0)
                .lt(Duration::from_secs(3))
                .for_tag("cold"),
        )
        .threshold(Threshold::error_rate().lt(0.01))
        .run_async(move |ctx| {
            let f = f.clone();
            async move {
                let payload = format!(
                    r#"{{"order": {}, "items": 4, "io_ms": 20}}"#,
                    ctx.iteration()
                );
                f.invoke(&ctx, payload.as_bytes()).await.map(drop)
            }
        })
        .await
        .unwrap();
    assert_eq!(report.tags["cold"].iterations, 8);
    report.assert_passed();
}

/// Timeouts and error rate: one order in 20 fails in the function, one in
/// 50 outlasts the client's 1 s timeout. Each class has its budget.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn timeouts_and_error_rate() {
    let Some(stack) = aws::stack_or_skip("timeouts_and_error_rate") else {
        return;
    };
    let _turn = FUNCTION.lock().await;
    let http = HttpTuning {
        operation_timeout: Some(Duration::from_secs(1)),
        ..HttpTuning::default()
    };
    let f = orders_fn(&stack, 4, http).await;
    let report = PerfTest::new("lambda_performance::timeouts_and_error_rate")
        .workers(2)
        .repeat(100)
        .threshold(Threshold::class_rate("function_error").lt(0.1))
        .threshold(Threshold::class_rate("timeout").lt(0.05))
        .threshold(Threshold::error_rate().lt(0.15))
        .run_async(move |ctx| {
            let f = f.clone();
            async move {
                let i = ctx.iteration();
                let payload = match i {
                    _ if i % 20 == 7 => r#"{"fail": "out of stock"}"#,
                    _ if i % 50 == 13 => r#"{"io_ms": 1500}"#,
                    _ => r#"{"items": 2, "io_ms": 5}"#,
                };
                f.invoke(&ctx, payload.as_bytes()).await.map(drop)
            }
        })
        .await
        .unwrap();
    assert_eq!(report.error_classes.get("function_error"), Some(&5));
    assert_eq!(report.error_classes.get("timeout"), Some(&2));
    report.assert_passed();
    // Let the abandoned invocations finish before the next test.
    tokio::time::sleep(Duration::from_millis(1_500)).await;
}

/// Memory leak detection across warm invocations: the function's memory
/// (RSS locally, REPORT's Max Memory Used on AWS) after each of 100.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_leak_detection() {
    let Some(stack) = aws::stack_or_skip("memory_leak_detection") else {
        return;
    };
    let _turn = FUNCTION.lock().await;
    let f = orders_fn(&stack, 1, HttpTuning::default()).await;
    let steady = f.memory_growth(100, br#"{"items": 3}"#).await.unwrap();
    f.force_cold_start().await.unwrap();
    let leaky = f
        .memory_growth(100, br#"{"items": 3, "leak_kb": 64}"#)
        .await
        .unwrap();
    for (label, g) in [("steady", &steady), ("64 KiB kept per event", &leaky)] {
        let (first, last) = g.first_last().unwrap();
        perf_runtime::print_figures(&format!(
            "leak check, {label}: {:.1} MiB -> {:.1} MiB, {:+.1} KiB/invocation",
            first as f64 / 1048576.0,
            last as f64 / 1048576.0,
            g.bytes_per_invocation() / 1024.0
        ));
    }
    // A leak: over 16 KiB per invocation and 2 MiB in all.
    assert!(!steady.is_leaking(16.0 * 1024.0, 2 << 20));
    assert!(leaky.is_leaking(16.0 * 1024.0, 2 << 20));
}
