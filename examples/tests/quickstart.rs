//! The first perf tests to read: one iteration per call, thresholds in the
//! attribute, `cargo test` runs them.

use std::collections::HashMap;
use std::sync::{LazyLock, Mutex};

use perf_examples::parse_config;
use perf_runtime::prelude::*;

const LINE: &str = "region=eu-west-1; table=orders; retries=3; timeout=250ms; mode=provisioned";

/// CPU-bound code: 20,000 parses on 2 workers, with a latency budget.
#[perf_test(workers = 2, repeat = 20_000, warmup = 1_000, p99 < "1ms", throughput >= 1000)]
async fn parse_config_is_fast() -> Result<(), String> {
    let parsed = parse_config(LINE)?;
    assert_eq!(parsed.len(), 5);
    Ok(())
}

static CACHE: LazyLock<Mutex<HashMap<u64, String>>> = LazyLock::new(|| Mutex::new(HashMap::new()));

/// Contention: 8 workers share one locked cache; `ctx` says who is who.
#[perf_test(workers = 8, repeat = 10_000, p95 < "2ms", max < "100ms")]
async fn shared_cache_under_contention(ctx: &Ctx) {
    let key = ctx.iteration() % 512;
    let mut cache = CACHE.lock().unwrap();
    cache
        .entry(key)
        .or_insert_with(|| format!("value-{key}-from-worker-{}", ctx.worker()));
}

/// An error budget: a dependency that fails one call in 400 stays within
/// `error_rate < 1%`; the summary lists what failed and when.
#[perf_test(workers = 4, repeat = 4_000, error_rate < "1%", p95 < "5ms")]
async fn flaky_dependency_within_error_budget(ctx: Ctx) -> Result<(), String> {
    if ctx.iteration() % 400 == 399 {
        return Err("upstream returned 503".to_string());
    }
    parse_config(LINE).map(drop)
}

/// Time-boxed instead of counted: runs for one second (or `PERF_DURATION`),
/// each iteration cancelled if it takes over 50 ms.
#[perf_test(workers = 2, duration = "1s", iteration_timeout = "50ms", p99 < "10ms")]
async fn time_boxed_run() {
    let mut v: Vec<u64> = (0..2_000).rev().collect();
    v.sort_unstable();
    assert_eq!(v[0], 0);
}
