//! Errors, panics and iteration timeouts are counted, classified and kept;
//! none of them stops the run.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use perf_runtime::prelude::*;
use perf_runtime::ErrorKind;

fn quiet(name: &str) -> PerfTest {
    PerfTest::new(name)
        .no_report_file()
        .quiet()
        .threshold(Threshold::error_rate().le(1.0))
}

#[test]
fn err_results_are_counted_per_message() {
    let report = quiet("errors::err")
        .workers(3)
        .repeat(300)
        .run(|ctx| async move {
            match ctx.iteration() % 10 {
                0 => Err("throttled".to_string()),
                1 => Err(format!("not found: item {}", ctx.iteration() % 2)),
                _ => Ok(()),
            }
        })
        .unwrap();
    assert_eq!(report.iterations, 300);
    assert_eq!(report.errors, 60);
    assert_eq!((report.panics, report.timeouts), (0, 0));
    assert!((report.error_rate - 0.2).abs() < 1e-12);
    let counts: Vec<(&str, u64)> = report
        .error_counts
        .iter()
        .map(|c| (c.message.as_str(), c.count))
        .collect();
    // Keyed by the error's Debug text; `% 10 == 1` makes the item always 1.
    assert_eq!(
        counts,
        [("\"not found: item 1\"", 30), ("\"throttled\"", 30)]
    );
    // The first errors in the order they were recorded: with 3 workers
    // that need not start at iteration 0, but each is one of the failing
    // iterations, with its kind.
    assert!(report.first_errors.len() >= 5);
    assert!(report
        .first_errors
        .iter()
        .all(|e| e.iteration % 10 <= 1 && e.kind == ErrorKind::Error));
}

#[test]
fn panics_are_caught_counted_and_do_not_abort_the_run() {
    let after_panic = Arc::new(AtomicU64::new(0));
    let seen = after_panic.clone();
    let report = quiet("errors::panics")
        .workers(2)
        .repeat(100)
        .run(move |ctx| {
            let seen = seen.clone();
            async move {
                if ctx.iteration() % 25 == 0 {
                    panic!("iteration {} exploded", ctx.iteration());
                }
                seen.fetch_add(1, Ordering::Relaxed);
            }
        })
        .unwrap();
    assert_eq!(report.iterations, 100);
    assert_eq!(report.panics, 4);
    assert_eq!(report.errors, 4);
    assert_eq!(after_panic.load(Ordering::Relaxed), 96);
    let first = &report.first_errors[0];
    assert_eq!(first.kind, ErrorKind::Panic);
    assert!(
        first
            .message
            .starts_with("iteration 0 exploded at tests/tests/errors.rs:"),
        "{}",
        first.message
    );
}

/// Set when the iteration's future is dropped before it finished.
struct CancelGuard(Arc<AtomicU64>, bool);

impl Drop for CancelGuard {
    fn drop(&mut self) {
        if !self.1 {
            self.0.fetch_add(1, Ordering::Relaxed);
        }
    }
}

#[test]
fn iteration_timeout_cancels_and_counts() {
    let cancelled = Arc::new(AtomicU64::new(0));
    let c = cancelled.clone();
    let start = Instant::now();
    // Timed against the wall clock below: no waiting for other perf tests.
    let report = quiet("errors::iteration_timeout")
        .exclusive(false)
        .workers(2)
        .repeat(10)
        .iteration_timeout(Duration::from_millis(50))
        .run(move |ctx| {
            let guard = CancelGuard(c.clone(), false);
            async move {
                let mut guard = guard;
                // Odd iterations would take 10 s if not cancelled.
                let nap = if ctx.iteration() % 2 == 1 { 10_000 } else { 1 };
                tokio::time::sleep(Duration::from_millis(nap)).await;
                guard.1 = true;
            }
        })
        .unwrap();
    assert_eq!(report.iterations, 10);
    assert_eq!(report.timeouts, 5);
    assert_eq!(report.errors, 5);
    assert_eq!(
        cancelled.load(Ordering::Relaxed),
        5,
        "timed-out iterations are dropped (cancelled)"
    );
    // Five 50 ms timeouts on two workers, not five 10 s sleeps.
    assert!(
        start.elapsed() < Duration::from_secs(5),
        "{:?}",
        start.elapsed()
    );
    // A timed-out iteration is recorded at (about) the timeout: at least 50 ms.
    assert!(report.latency.max_ns >= 50_000_000);
    assert!(report.latency.max_ns < 5_000_000_000);
    assert!(
        report.error_counts[0]
            .message
            .contains("iteration_timeout (50ms)"),
        "{:?}",
        report.error_counts
    );
}

#[perf_test(repeat = 4, iteration_timeout = "20ms")]
#[should_panic(expected = "iteration cancelled after iteration_timeout (20ms)")]
async fn iteration_timeout_fails_the_default_error_rate() {
    tokio::time::sleep(Duration::from_secs(10)).await;
}

/// What a request error looks like: the URL and the request id differ per
/// request, the cause ("Connection refused") sits at the end.
#[derive(Debug)]
#[allow(dead_code)]
struct RequestError {
    url: String,
    request_id: String,
    source: std::io::Error,
}

#[test]
fn errors_that_differ_in_urls_and_ids_are_one_group_and_name_their_cause() {
    let report = PerfTest::new("errors::grouped")
        .repeat(40)
        .no_report_file()
        .quiet()
        .threshold(Threshold::error_rate().lt(0.5))
        .run(|ctx| async move {
            Err::<(), _>(RequestError {
                url: format!("http://127.0.0.1:1/orders/{}", 10_000 + ctx.iteration()),
                request_id: format!("req{:08x}", 0xa5a5_0000u64 + ctx.iteration()),
                // ECONNREFUSED, as a failed connect gives it.
                source: std::io::Error::from_raw_os_error(111),
            })
        })
        .unwrap();
    assert_eq!(report.error_counts.len(), 1, "{:?}", report.error_counts);
    let group = &report.error_counts[0];
    assert_eq!(group.count, 40);
    assert!(group.example.contains("/orders/1"), "{}", group.example);
    assert!(
        group.message.contains("url: \"<url>\""),
        "{}",
        group.message
    );
    assert_eq!(group.cause.as_deref(), Some("Connection refused"));
    let summary = report.summary();
    assert!(summary.contains("40 × error: RequestError"), "{summary}");
    assert!(summary.contains("(cause: Connection refused)"), "{summary}");

    // The panic message names the most frequent error, and, the summary
    // not printed (quiet), carries it once.
    let failure = std::panic::catch_unwind(|| report.assert_passed()).unwrap_err();
    let message = failure.downcast_ref::<String>().unwrap();
    assert!(
        message.contains("most frequent error: 40 × error: RequestError"),
        "{message}"
    );
    assert_eq!(
        message.matches("errors by message:").count(),
        1,
        "{message}"
    );
}
