//! The statistics of case comparisons and benchmarks, on bodies that
//! busy-wait a known time. In a binary of their own, taking turns: on a
//! 2-core machine any other test running beside a busy-wait preempts it and
//! the measurement becomes the scheduler's.

use std::time::{Duration, Instant};

use perf_runtime::prelude::*;
use perf_runtime::TableTest;

/// The tests that busy-wait take turns: two spinning tests on a 2-core
/// machine would preempt each other and measure the scheduler instead.
static SPINNING: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Busy-waits: a latency known to the microsecond, the same every time.
fn spin(micros: u64) {
    let start = Instant::now();
    while start.elapsed() < Duration::from_micros(micros) {
        std::hint::spin_loop();
    }
}

#[test]
fn the_comparison_flags_a_real_difference_and_not_identical_cases() {
    let _turn = SPINNING
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let benches = perf_tests::block_on(
        TableTest::<u64, ()>::new("cases::spin")
            .case("fast", 500, ())
            .case("slow", 1000, ())
            .case("fast_again", 500, ())
            .quiet()
            .benchmark(
                |micros| async move {
                    spin(micros);
                },
                400,
            ),
    );
    assert_eq!(benches.len(), 3);
    let reports: Vec<(String, Report)> = benches
        .iter()
        .map(|b| (b.case.clone(), b.report.clone()))
        .collect();
    let cmp = perf_runtime::cases::compare_cases("cases::spin", &reports).unwrap();
    assert_eq!(cmp.reference, "fast");
    let metric = |case: usize, name: &str| {
        cmp.cases[case]
            .metrics
            .iter()
            .find(|m| m.metric == name)
            .unwrap()
            .clone()
    };
    // The slow body takes twice as long, and the median shows it within
    // 20%. The mean and the tail carry the preemptions of a busy machine: a
    // spin is wall time, and a 4 ms time slice lost inside a 1 ms spin more
    // than doubles it. With two other processes keeping both cores busy,
    // the mean came out +167% and p95 (the scheduler's, in both cases)
    // +12%, so those two are only required to point the right way.
    let p50 = metric(1, "p50");
    assert!(
        p50.significant && (p50.delta - 1.0).abs() < 0.2,
        "slow p50: {p50:?}"
    );
    let mean = metric(1, "mean");
    assert!(mean.significant && mean.delta > 0.2, "slow mean: {mean:?}");
    let p95 = metric(1, "p95");
    assert!(p95.delta > 0.0, "slow p95: {p95:?}");
    // The same body again measures the same, within what a shared 2-core
    // machine drifts between consecutive runs (CI saw a significant 3.2%
    // once, with the AWS stack's servers running beside it): the median is
    // held to 5%. The mean and p95 are not held at all: they carry every
    // time slice the machine takes away, and with two other busy processes
    // the identical case's mean came out +30% and +51% and its p95 -89%,
    // all significant, in consecutive runs (a 500 µs spin that loses a 4 ms
    // slice). That is the scheduler's distribution, not the code's. The
    // statistics' false-positive rate on identical distributions is tested
    // on synthetic data in `perf-runtime/src/stats.rs`, where no machine
    // noise blurs it.
    let p50 = metric(2, "p50");
    assert!(p50.delta.abs() < 0.05, "fast_again p50: {p50:?}");
    assert!(cmp.table().contains("fast_again"));
}

#[test]
fn benchmark_statistics_of_a_known_body() {
    let _turn = SPINNING
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let bench = perf_tests::block_on(
        TableTest::<u64, ()>::new("cases::bench")
            .case("one_ms", 1000, ())
            .quiet()
            .benchmark(|micros| async move { spin(micros) }, 300),
    );
    let b = &bench[0];
    assert_eq!(b.iterations, 300);
    // A 1 ms spin takes 1 ms and a little: never less.
    assert!(
        b.p50 >= Duration::from_millis(1) && b.p50 < Duration::from_micros(1100),
        "{b:?}"
    );
    assert!(b.mean >= Duration::from_millis(1) && b.mean == b.average);
    assert!(b.p50 <= b.p95 && b.p95 <= b.p99);
    assert!(b.mean_ci95.0 <= b.mean && b.mean <= b.mean_ci95.1);
    let o = b.outliers;
    assert!(o.low_severe + o.low_mild + o.high_mild + o.high_severe < 300);
    // Nothing can be faster than the spin. (Low outliers can exist: when a
    // loaded machine delays most iterations a little, the undelayed ones
    // fall below the lower fence. CI saw 14 once.) The histogram keeps 3
    // significant digits: 1 ms may read as 999.9 µs.
    assert!(
        b.report.latency.min_ns >= 999_000,
        "min {} ns",
        b.report.latency.min_ns
    );
}
