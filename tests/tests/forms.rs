//! Every accepted function form runs, and attributes written beside
//! `#[perf_test]` stay on the generated test.

use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use perf_runtime::prelude::*;

static PLAIN: AtomicU64 = AtomicU64::new(0);

#[perf_test(repeat = 25)]
async fn plain_async_fn() {
    PLAIN.fetch_add(1, Ordering::Relaxed);
}

#[test]
fn plain_form_ran_every_iteration() {
    // The perf test above may run before or after this one: run it again
    // through its generated #[test] function and count both runs.
    let before = PLAIN.load(Ordering::Relaxed);
    plain_async_fn();
    // 50 if the harness ran the perf test itself at the same moment.
    let ran = PLAIN.load(Ordering::Relaxed) - before;
    assert!(ran == 25 || ran == 50, "{ran}");
}

#[perf_test(repeat = 10, error_rate <= 0)]
async fn returns_result() -> Result<u32, std::io::Error> {
    Ok(7)
}

static SEEN: Mutex<Vec<(usize, u64)>> = Mutex::new(Vec::new());

#[perf_test(workers = 4, repeat = 40)]
async fn ctx_by_value(ctx: Ctx) {
    assert_eq!(ctx.workers(), 4);
    SEEN.lock().unwrap().push((ctx.worker(), ctx.iteration()));
}

#[test]
fn ctx_gives_worker_and_unique_iteration_indices() {
    SEEN.lock().unwrap().clear();
    ctx_by_value();
    let seen = std::mem::take(&mut *SEEN.lock().unwrap());
    // A parallel run of the #[perf_test] itself may add a second set.
    assert!(seen.len() == 40 || seen.len() == 80, "{}", seen.len());
    let iterations: HashSet<u64> = seen.iter().map(|s| s.1).collect();
    assert_eq!(iterations, (0..40).collect::<HashSet<u64>>());
    assert!(seen.iter().all(|s| s.0 < 4));
}

#[perf_test(repeat = 10)]
async fn ctx_by_reference(ctx: &Ctx) -> Result<(), String> {
    if ctx.iteration() < 10 {
        Ok(())
    } else {
        Err(format!("iteration {} out of range", ctx.iteration()))
    }
}

#[perf_test(repeat = 5)]
async fn ctx_by_full_path(ctx: perf_runtime::Ctx) {
    assert!(!ctx.is_warmup());
}

#[perf_test(repeat = 5)]
async fn ctx_by_reference_full_path(ctx: &perf_runtime::Ctx) {
    assert!(ctx.worker() == 0);
}

/// Doc comments are kept (this one is on the generated test).
#[perf_test(repeat = 5, p95 < "1s")]
#[allow(deprecated)] // the form is tested, not the percentile: too few iterations for it
#[should_panic(expected = "boom in every iteration")]
async fn should_panic_is_kept() {
    panic!("boom in every iteration")
}

// The iterations' panics are caught and counted; the test then fails on the
// default `error_rate <= 0`, and its message lists the panics' messages.

#[cfg(any())]
#[perf_test(repeat = 5)]
async fn cfg_is_kept() {
    this_does_not_exist_and_would_not_compile();
}

#[perf_test(repeat = 5)]
#[ignore = "demonstrates that #[ignore] stays on the generated test"]
async fn ignore_is_kept() {
    panic!("an ignored test must not run");
}

#[test]
fn ignored_perf_test_is_listed_as_ignored() {
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--list", "--ignored"])
        .output()
        .unwrap();
    let listed = String::from_utf8_lossy(&out.stdout);
    assert!(listed.contains("ignore_is_kept: test"), "{listed}");
    assert!(!listed.contains("returns_result"), "{listed}");
}

#[perf_test(repeat = 3)]
#[allow(clippy::unused_async, unused_variables)]
async fn lint_attributes_apply_to_the_body() {
    let unused = 1;
}

mod my_reexport {
    pub use ::perf_runtime::*;
}

#[my_reexport::perf_test(crate = "my_reexport", repeat = 3, p99 < "1s")]
#[allow(deprecated)] // the form is tested, not the percentile: too few iterations for it
async fn renamed_runtime_path() {}

#[perf_test(repeat = 20, p(99.99) < "1s", avg < "1s", p999 < "900ms", error_rate < "1%", throughput >= 1)]
#[allow(deprecated)] // the form is tested, not the percentile: too few iterations for it
async fn every_threshold_spelling() {}
