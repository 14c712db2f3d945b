//! Sub-microsecond closed-model bodies are timed in batches of iterations
//! per clock pair, and every iteration still counts: iterations, errors and
//! the latency histogram's count are exact, whatever the batch size.

use std::time::Duration;

use perf_runtime::prelude::*;
use perf_runtime::Batch;

fn quiet(name: &str) -> PerfTest {
    PerfTest::new(name)
        .no_report_file()
        .quiet()
        .env_overrides(false)
}

#[test]
fn a_tiny_body_is_batched_and_every_iteration_counts() {
    let n = 50_000;
    let report = quiet("batching::noop")
        .workers(2)
        .repeat(n)
        .run(|_| async { std::hint::black_box(()) })
        .unwrap();
    assert_eq!(report.iterations, n);
    assert_eq!(report.latency.count, n);
    let b = report.batching.expect("a no-op body is batched");
    assert!(b.iterations_per_sample > 1, "{b:?}");
    // Each worker's first few iterations are probes, timed one by one.
    assert!(
        b.batched_iterations > n / 2 && b.batched_iterations <= n,
        "{b:?}"
    );
    assert!(b.clock_ns > 0.0 && b.clock_ns < 100_000.0, "{b:?}");
    let summary = report.summary();
    assert!(
        summary.contains("percentiles are of batch means"),
        "{summary}"
    );
}

#[test]
fn failures_inside_a_batch_are_counted_one_by_one() {
    let n = 20_000;
    let report = quiet("batching::failures")
        .threshold(Threshold::error_rate().le(1.0))
        .workers(2)
        .repeat(n)
        .run(|ctx| async move {
            if ctx.iteration() % 10 == 0 {
                Err("every tenth fails")
            } else {
                Ok(())
            }
        })
        .unwrap();
    assert_eq!(report.iterations, n);
    assert_eq!(report.errors, n / 10);
    assert!(report.batching.is_some());
    assert!((report.error_rate - 0.1).abs() < 1e-12);
}

#[test]
fn slow_bodies_and_bodies_that_note_are_not_batched() {
    let report = quiet("batching::slow")
        .workers(1)
        .repeat(20)
        .run(|_| async { tokio::time::sleep(Duration::from_millis(1)).await })
        .unwrap();
    assert_eq!(report.iterations, 20);
    assert!(report.batching.is_none(), "{:?}", report.batching);

    let report = quiet("batching::tagged")
        .workers(1)
        .repeat(5_000)
        .run(|ctx| async move { ctx.tag("fast") })
        .unwrap();
    assert!(report.batching.is_none(), "{:?}", report.batching);
    assert_eq!(report.tags["fast"].iterations, 5_000);

    let report = quiet("batching::off")
        .workers(1)
        .repeat(5_000)
        .batch(Batch::Off)
        .run(|_| async {})
        .unwrap();
    assert!(report.batching.is_none(), "{:?}", report.batching);
}

#[test]
fn a_fixed_batch_is_taken_as_asked() {
    let report = quiet("batching::fixed")
        .workers(1)
        .repeat(10_000)
        .batch(Batch::Fixed(100))
        .run(|_| async {})
        .unwrap();
    let b = report.batching.expect("batched");
    assert_eq!(b.iterations_per_sample, 100);
    assert_eq!(report.iterations, 10_000);
}
