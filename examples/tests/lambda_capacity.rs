//! The capacity of a real Lambda function, found by the search: the
//! showcase's `orders-fn` under cargo-lambda with 4 execution environments
//! (processes, each one invocation at a time) and a 50 ms handler, through
//! the Lambda Invoke API. Its capacity is 4 / 50 ms = 80 invocations a
//! second, less what cargo-lambda's Runtime API adds to each; beyond it,
//! invocations queue in cargo-lambda and the latency climbs. The search
//! must find it within ±20%.

use std::sync::Arc;
use std::time::Duration;

use perf_runtime::aws::lambda::Function;
use perf_runtime::aws::{self, HttpTuning};
use perf_runtime::prelude::*;
use perf_runtime::Capacity;

const ORDERS_FN: &str = env!("CARGO_BIN_EXE_orders-fn");
const ENVIRONMENTS: usize = 4;
const HANDLER: Duration = Duration::from_millis(50);

#[test]
fn the_search_finds_the_functions_concurrency_over_its_handler_time() {
    let Some(stack) = aws::stack_or_skip("lambda_capacity") else {
        return;
    };
    // Connected on a runtime of its own: each step of the search runs on
    // one of its own, so the client keeps no connections between them.
    let connect = tokio::runtime::Runtime::new().unwrap();
    let f = Arc::new(
        connect
            .block_on(
                Function::builder("orders-fn")
                    .local_binary(ORDERS_FN)
                    .concurrency(ENVIRONMENTS)
                    .memory_mb(1024)
                    .http(HttpTuning::no_reuse())
                    .connect(&stack),
            )
            .expect("orders-fn reachable"),
    );
    let payload = format!(
        r#"{{"order": 1, "items": 2, "io_ms": {}}}"#,
        HANDLER.as_millis()
    );
    let report = PerfTest::new("lambda_capacity::orders_fn")
        .workers(200)
        .threshold(Threshold::p(95.0).lt(HANDLER * 3))
        .threshold(Threshold::error_rate().lt(0.01))
        .capacity(
            Capacity::rate(20.0..=400.0)
                .hold(Duration::from_secs(3))
                .precision(0.05),
        )
        .run(move |ctx| {
            let (f, payload) = (f.clone(), payload.clone());
            async move { f.invoke(&ctx, payload.as_bytes()).await.map(drop) }
        })
        .unwrap();
    eprintln!("{}", report.summary());
    let c = report.capacity.as_ref().expect("a capacity result");
    let nominal = ENVIRONMENTS as f64 / HANDLER.as_secs_f64();
    let found = c.capacity.expect("a rate held");
    assert!(
        (0.8 * nominal..=1.2 * nominal).contains(&found),
        "capacity {found:.0}/s, nominal {nominal:.0}/s\n{}",
        report.summary()
    );
    assert!(
        !c.at_least && c.generator_limited.is_none(),
        "{}",
        c.verdict
    );
    assert_eq!(c.broken_by.as_deref(), Some("p95 < 150ms"), "{}", c.verdict);
    // Above the capacity the function's throughput is its own: about the
    // capacity, whatever is offered.
    for s in c.steps.iter().filter(|s| s.offered > 1.3 * nominal) {
        assert!(s.achieved < 1.2 * nominal, "{s:?}");
    }
}
