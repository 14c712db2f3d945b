//! The load shape: workers run concurrently, `duration` and `timeout` end
//! the run when they say, warm-up is run and not recorded.

use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use perf_runtime::prelude::*;
use perf_runtime::Stop;

fn quiet(name: &str) -> PerfTest {
    PerfTest::new(name).no_report_file().quiet()
}

#[test]
fn workers_run_concurrently() {
    // 16 iterations of 100 ms on 8 workers: 200 ms if concurrent, 1.6 s if
    // not. Timers sleep, so this holds however loaded the CPUs are.
    let workers = Arc::new(Mutex::new(HashSet::new()));
    let w = workers.clone();
    let report = quiet("shape::concurrent")
        .workers(8)
        .repeat(16)
        .run(move |ctx| {
            w.lock().unwrap().insert(ctx.worker());
            async { tokio::time::sleep(Duration::from_millis(100)).await }
        })
        .unwrap();
    assert_eq!(report.iterations, 16);
    assert!(report.elapsed() >= Duration::from_millis(200));
    assert!(
        report.elapsed() < Duration::from_millis(1200),
        "{:?}",
        report.elapsed()
    );
    assert_eq!(workers.lock().unwrap().len(), 8);
    assert_eq!(report.load.workers, 8);
}

#[test]
fn duration_runs_until_the_time_is_up() {
    let report = quiet("shape::duration")
        .workers(2)
        .duration(Duration::from_millis(300))
        .run(|_| async { tokio::time::sleep(Duration::from_millis(10)).await })
        .unwrap();
    assert_eq!(report.load.stop, Stop::Duration(Duration::from_millis(300)));
    // Ends at the first iteration end past 300 ms: at most one 10 ms sleep
    // (plus timer slack) later.
    assert!(report.elapsed() >= Duration::from_millis(300));
    assert!(
        report.elapsed() < Duration::from_millis(800),
        "{:?}",
        report.elapsed()
    );
    // Two workers sleeping 10 ms (timer granularity 1 ms): about 27–60 iterations.
    assert!(
        (20..=62).contains(&report.iterations),
        "{}",
        report.iterations
    );
}

#[test]
fn timeout_stops_the_run_and_keeps_what_was_measured() {
    let report = quiet("shape::timeout")
        .workers(2)
        .repeat(1_000)
        .timeout(Duration::from_millis(300))
        .run(|_| async { tokio::time::sleep(Duration::from_millis(20)).await })
        .unwrap();
    assert!(report.timed_out);
    assert!(!report.passed);
    // 2 workers × 300 ms / 20 ms ≈ 30, and certainly far from 1,000.
    assert!(
        (5..200).contains(&report.iterations),
        "{}",
        report.iterations
    );
    assert_eq!(report.latency.count, report.iterations);
}

#[perf_test(repeat = 1000, timeout = "200ms")]
#[should_panic(expected = "timed out after 200ms")]
async fn timeout_fails_the_test() {
    tokio::time::sleep(Duration::from_millis(50)).await;
}

#[test]
fn warmup_runs_first_and_is_not_recorded() {
    let warm = Arc::new(AtomicU64::new(0));
    let measured = Arc::new(AtomicU64::new(0));
    let (w, m) = (warm.clone(), measured.clone());
    let report = quiet("shape::warmup")
        .workers(2)
        .repeat(50)
        .warmup(20)
        .run(move |ctx| {
            if ctx.is_warmup() {
                assert_eq!(m.load(Ordering::SeqCst), 0, "warm-up runs before measuring");
                w.fetch_add(1, Ordering::SeqCst);
            } else {
                m.fetch_add(1, Ordering::SeqCst);
            }
            async {}
        })
        .unwrap();
    assert_eq!(warm.load(Ordering::SeqCst), 20);
    assert_eq!(measured.load(Ordering::SeqCst), 50);
    assert_eq!(report.iterations, 50);
    assert_eq!(report.latency.count, 50);
    assert_eq!(report.warmup.as_ref().map(|w| w.iterations), Some(20));
}

#[test]
fn warmup_by_time() {
    let start = Instant::now();
    let report = quiet("shape::warmup_time")
        .repeat(5)
        .warmup(Duration::from_millis(100))
        .run(|_| async { tokio::time::sleep(Duration::from_millis(5)).await })
        .unwrap();
    assert!(start.elapsed() >= Duration::from_millis(100));
    assert_eq!(report.iterations, 5);
    assert!(report.warmup.unwrap().iterations >= 5);
}

#[test]
fn run_async_uses_the_callers_runtime() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let report = rt
        .block_on(
            quiet("shape::run_async")
                .workers(4)
                .repeat(40)
                .run_async(|_| async {
                    tokio::task::yield_now().await;
                }),
        )
        .unwrap();
    assert_eq!(report.iterations, 40);
    assert_eq!(report.load.worker_threads, 2);
}
