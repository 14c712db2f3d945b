//! What connection reuse saves, against the local stack: the same calls
//! through the SDK's pooled HTTP client and through one that keeps no idle
//! connection (`HttpTuning::no_reuse()`: a TCP connect per request).
//!
//!     scripts/aws-stack -- cargo bench -p perf-examples --bench connection_reuse
//!
//! - Lambda Invoke of `orders-fn` through cargo-lambda, which keeps
//!   connections alive: the difference is the connect.
//! - DynamoDB GetItem on moto, which answers every request with
//!   `Connection: close`: there is nothing to reuse, and the two clients
//!   measure the same. Against real AWS (PERF_AWS_STACK=aws) reuse also
//!   saves a TLS handshake per request.

use std::sync::Arc;
use std::time::Duration;

use perf_examples::orders::{connection_reuse, order, orders_table};
use perf_runtime::aws::dynamodb::BatchOptions;
use perf_runtime::aws::lambda::Function;
use perf_runtime::aws::{stack_or_skip, HttpTuning, Stack};
use perf_runtime::{PerfTest, Report, Threshold};

async fn invokes(stack: &Stack, name: &str, tuning: HttpTuning, n: u64) -> Report {
    let function = Arc::new(
        Function::builder("orders-fn")
            .local_binary(env!("CARGO_BIN_EXE_orders-fn"))
            .env("INIT_MS", "0")
            .http(tuning)
            .connect(stack)
            .await
            .expect("orders-fn started"),
    );
    PerfTest::new(name)
        .workers(1)
        .repeat(n)
        .warmup(10)
        .threshold(Threshold::p(95.0).lt(Duration::from_secs(1)))
        .run_async(move |ctx| {
            let f = function.clone();
            async move {
                f.invoke(&ctx, br#"{"order": 7, "items": 3}"#)
                    .await
                    .map(drop)
            }
        })
        .await
        .expect("valid perf test")
}

fn table(title: &str, n: u64, pooled: &Report, fresh: &Report) {
    let ms = |r: &Report, p: f64| {
        r.latency
            .percentile(p)
            .map_or(f64::NAN, |d| d.as_secs_f64() * 1e3)
    };
    println!("\n{title}, {n} calls on one worker:");
    println!(
        "{:<22} {:>9} {:>9} {:>9}",
        "client", "p50 ms", "p95 ms", "mean ms"
    );
    for (label, r) in [("pooled (default)", pooled), ("new connection each", fresh)] {
        println!(
            "{label:<22} {:>9.3} {:>9.3} {:>9.3}",
            ms(r, 50.0),
            ms(r, 95.0),
            r.latency.mean_ns / 1e6
        );
    }
    println!(
        "reuse saves {:.3} ms per call at the median",
        ms(fresh, 50.0) - ms(pooled, 50.0)
    );
}

fn main() {
    let Some(stack) = stack_or_skip("connection_reuse") else {
        return;
    };
    let n: u64 = std::env::var("REQUESTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(500);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime");
    runtime.block_on(async {
        let pooled = invokes(
            &stack,
            "connection_reuse::invoke_pooled",
            HttpTuning::default(),
            n,
        )
        .await;
        let fresh = invokes(
            &stack,
            "connection_reuse::invoke_no_reuse",
            HttpTuning::no_reuse(),
            n,
        )
        .await;

        let scratch = orders_table("perf-bench-reuse")
            .await
            .expect("table created");
        let items = (0..200).map(|i| order(i % 4, i % 50)).collect();
        let seeded = scratch
            .table()
            .batch_write(items, &BatchOptions::default())
            .await;
        assert!(seeded.is_complete(), "seeding: {seeded}");
        let (get_pooled, get_fresh) =
            connection_reuse("connection_reuse::get_item", scratch.name(), n).await;

        table(
            "Lambda Invoke (cargo-lambda keeps connections alive)",
            n,
            &pooled,
            &fresh,
        );
        table(
            "DynamoDB GetItem (moto closes every connection)",
            n,
            &get_pooled,
            &get_fresh,
        );
    });
}
