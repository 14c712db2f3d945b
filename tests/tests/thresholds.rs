//! Broken thresholds fail real tests with the metric, the observed value
//! and the limit. Which thresholds break on which figures is unit-tested on
//! synthetic data in perf-runtime's `judge` layer.

use std::time::Duration;

use perf_runtime::prelude::*;

// Each iteration sleeps 20 ms; a 5 ms p95 cannot hold on any machine.
// Ten iterations cannot estimate a p95 (the attribute warns so), but here
// every one of them is over the limit: the warning is allowed.
#[perf_test(repeat = 10, p95 < "5ms")]
#[should_panic(expected = "p95: observed")]
#[allow(deprecated)]
async fn slow_p95_fails() {
    tokio::time::sleep(Duration::from_millis(20)).await;
}

#[perf_test(repeat = 20, error_rate < 0.1)]
#[should_panic(expected = "error_rate: observed 0.5000 (10 of 20) (limit < 0.1)")]
async fn error_rate_fails(ctx: Ctx) -> Result<(), &'static str> {
    if ctx.iteration().is_multiple_of(2) {
        Err("even iterations fail")
    } else {
        Ok(())
    }
}

// 20 ms per iteration on one worker: at most 50 iterations/s.
#[perf_test(repeat = 5, throughput >= 1000)]
#[should_panic(expected = "throughput: observed")]
async fn low_throughput_fails() {
    tokio::time::sleep(Duration::from_millis(20)).await;
}

#[perf_test(repeat = 20, error_rate < "50%", max < "10s")]
async fn errors_within_budget_pass(ctx: Ctx) -> Result<(), String> {
    if ctx.iteration() == 3 {
        return Err("one failure in twenty".into());
    }
    Ok(())
}

#[test]
fn inconsistent_builder_thresholds_are_rejected() {
    let err = PerfTest::new("thresholds::swapped")
        .threshold(Threshold::p(95.0).lt(Duration::from_millis(200)))
        .threshold(Threshold::p(99.0).lt(Duration::from_millis(100)))
        .quiet()
        .no_report_file()
        .run(|_| async {})
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("`p99 < 100ms` is below `p95 < 200ms`"),
        "{err}"
    );
    let err = PerfTest::new("thresholds::zero")
        .repeat(0)
        .run(|_| async {})
        .unwrap_err()
        .to_string();
    assert!(err.contains("`repeat` must be at least 1"), "{err}");
}

// This binary has no tracking allocator: memory thresholds say what to add.
#[perf_test(repeat = 10, peak_heap < "1GB")]
#[should_panic(expected = "add `perf_runtime::track_allocations!();` at the top of this test file")]
async fn memory_thresholds_need_the_tracking_allocator() {}

#[test]
fn without_the_tracking_allocator_there_are_no_memory_figures() {
    let report = PerfTest::new("thresholds::no_memory")
        .repeat(5)
        .no_report_file()
        .quiet()
        .run(|_| async {})
        .unwrap();
    assert!(report.memory.is_none());
    assert!(!perf_runtime::memory::is_installed());
}
