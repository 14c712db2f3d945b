//! Not public API: what `#[perf_test]` expands to, reached through
//! absolute paths (`::perf_runtime::__private::…`) so that generated code
//! never depends on what the user imported. Not covered by semver.

pub use crate::model::outcome::{OutcomeKind, Output, ValueKind};
pub use crate::{Batch, Capacity, Ctx, IntoOutcome, PerfTest, Threshold, Warmup};
pub use perf_spec::{Inconclusive, Metric, Op, Profile, Stat, ThresholdSpec};
pub use std::time::Duration;
pub use tokio;

/// A percentile the macro has already checked.
pub fn percentile(p: f64) -> perf_spec::Percentile {
    perf_spec::Percentile::new(p).expect("checked by #[perf_test] at compile time")
}

pub use crate::judge::cases::{check_expected, CaseGroup, CheckFailed, Validation};

/// Runs one case of a parametrised perf test, then compares the cases
/// of its function that have finished (see [`crate::cases`]).
#[track_caller]
pub fn run_case<F, Fut>(group: &'static CaseGroup, case: &str, test: PerfTest, f: F)
where
    F: Fn(Ctx) -> Fut + Send + Sync + 'static,
    Fut: core::future::Future + Send + 'static,
    Fut::Output: IntoOutcome,
{
    let report = test.run(f).unwrap_or_else(|e| panic!("{e}"));
    if let Some(comparison) = group.finish(case, &report) {
        crate::io::config::print_summary(&comparison.table());
    }
    report.assert_passed();
}

/// Runs the test and fails it (panics) on a configuration error or a
/// broken threshold.
#[track_caller]
pub fn run_test<F, Fut>(test: PerfTest, f: F)
where
    F: Fn(Ctx) -> Fut + Send + Sync + 'static,
    Fut: core::future::Future + Send + 'static,
    Fut::Output: IntoOutcome,
{
    assert_ran(test.run(f));
}

/// [`run_test`] with a `setup` (and `teardown`).
pub fn run_test_with_setup<S, F, Fut>(test: crate::WithSetup<S>, f: F)
where
    S: Send + Sync + 'static,
    F: Fn(Ctx, std::sync::Arc<S>) -> Fut + Send + Sync + 'static,
    Fut: core::future::Future + Send + 'static,
    Fut::Output: IntoOutcome,
{
    assert_ran(test.run(f));
}

/// [`run_test`] with a `setup` and `per_worker` state.
pub fn run_test_with_workers<S, W, F, Fut>(test: crate::WithWorkers<S, W>, f: F)
where
    S: Send + Sync + 'static,
    W: Send + Sync + 'static,
    F: Fn(Ctx, std::sync::Arc<S>, std::sync::Arc<W>) -> Fut + Send + Sync + 'static,
    Fut: core::future::Future + Send + 'static,
    Fut::Output: IntoOutcome,
{
    assert_ran(test.run(f));
}

/// Fails the test on a configuration error or a failed verdict.
#[track_caller]
fn assert_ran(result: Result<crate::Report, crate::Error>) {
    match result {
        Ok(report) => report.assert_passed(),
        Err(e) => panic!("{e}"),
    }
}

/// The test the attribute declares: named after its module and function,
/// with the build's debug flag of the user's crate (not this one's).
pub fn new_test(module_path: &str, name: &str, debug_build: bool) -> PerfTest {
    PerfTest::new(format!("{module_path}::{name}")).debug_build(debug_build)
}

/// Called (spanned at the threshold) by `#[perf_test]` for a whole-run
/// percentile its fixed `repeat` cannot estimate: a compile-time warning
/// (an error under `-D warnings` or `#![deny(deprecated)]`). The summary's
/// note gives the figures.
#[deprecated(
    note = "too few iterations for this percentile: fewer than 10 samples are expected beyond it, so its value is one of the few slowest samples; raise `repeat` or judge a lower percentile (the run's summary says how many iterations it takes)"
)]
pub const fn too_few_samples_for_this_percentile() {}
