//! The open model: iterations start on schedule, latency counts from the
//! scheduled start (coordinated omission corrected), a saturated pool drops
//! and says so, ramps and profiles shape the rate, windows and aborts.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use perf_runtime::prelude::*;
use perf_runtime::Profile;

const MS: u64 = 1_000_000;

fn quiet(name: &str) -> PerfTest {
    PerfTest::new(name).no_report_file().quiet()
}

#[test]
fn constant_rate_schedules_rate_times_duration_iterations() {
    let report = quiet("open::constant")
        .rate(200.0)
        .duration(Duration::from_secs(1))
        .run(|_| async {})
        .unwrap();
    // 200/s for 1 s: exactly 200 arrivals, each run or dropped, none lost.
    assert_eq!(report.iterations + report.dropped, 200);
    assert_eq!(
        report.dropped, 0,
        "a no-op body never exhausts a pool of 100"
    );
    assert_eq!(report.load.workers, perf_runtime::DEFAULT_OPEN_POOL);
    // The last arrival is due at 995 ms.
    assert!(report.elapsed() >= Duration::from_millis(995));
    assert!(report.service.is_some());
    assert!(report.passed);
}

#[test]
fn a_slow_rate_is_measured_over_its_whole_schedule() {
    // 10/s for 1 s: arrivals at 0, 100, …, 900 ms, the last one done by
    // about 901 ms. The run covered the second it was scheduled for, so
    // its throughput is the 10/s offered, not 10 over 0.9 s (11.1/s).
    let report = quiet("open::slow_rate")
        .rate(10.0)
        .duration(Duration::from_secs(1))
        .run(|_| async {})
        .unwrap();
    assert_eq!(report.iterations, 10);
    assert!(report.elapsed() >= Duration::from_secs(1));
    // The last iteration ends within the second unless the machine
    // stalls it for 100 ms; even then the rate is under the offered.
    assert!(
        (9.0..=10.0 + 1e-9).contains(&report.throughput),
        "{}/s from 10/s",
        report.throughput
    );
}

#[test]
fn a_saturated_pool_reports_dropped_iterations() {
    let report = quiet("open::saturated")
        .rate(200.0)
        .duration(Duration::from_secs(1))
        .workers(2)
        .run(|_| async { tokio::time::sleep(Duration::from_millis(100)).await })
        .unwrap();
    // Two workers busy 100 ms per iteration finish at most ~2 × 11 in the
    // second the schedule lasts; everything else found no free worker.
    assert_eq!(report.iterations + report.dropped, 200);
    assert!(report.iterations <= 30, "{}", report.iterations);
    assert!(report.dropped >= 170, "{}", report.dropped);
    assert!(report.dropped_rate > 0.8);
    // No dropped threshold was declared: the default one fails the run.
    let default = report
        .thresholds
        .iter()
        .find(|t| t.default && t.metric == "dropped_rate")
        .unwrap();
    assert!(!default.passed);
    assert!(!report.passed);
    let dropped_by_second: u64 = report.timeline.iter().map(|p| p.dropped).sum();
    assert_eq!(dropped_by_second, report.dropped);
}

#[perf_test(rate = 100, duration = "1s", workers = 1, dropped < 1)]
#[should_panic(expected = "dropped: observed")]
async fn dropped_threshold_fails_the_test() {
    tokio::time::sleep(Duration::from_millis(50)).await;
}

/// One iteration blocks the test's only runtime thread for 200 ms, as a
/// stop-the-world pause in the load generator would. Iterations due during
/// the pause cannot start until it ends: the open model counts their wait
/// (from the scheduled start), the service time does not, and a closed
/// model never even schedules them.
#[test]
fn a_generator_stall_shows_in_corrected_latency_but_not_in_service_time() {
    let stall = |ctx: Ctx| async move {
        if ctx.iteration() == 300 {
            std::thread::sleep(Duration::from_millis(200));
        }
    };
    let open = quiet("open::generator_stall")
        .rate(500.0)
        .duration(Duration::from_secs(2))
        .workers(300)
        .worker_threads(1)
        .run(stall)
        .unwrap();
    let corrected = &open.latency;
    let service = open.service.as_ref().unwrap();
    assert_eq!(
        open.dropped, 0,
        "300 free workers absorb the ~100 iterations due during the stall"
    );
    // ~100 of 1,000 iterations were due during the 200 ms stall and waited
    // between 0 and 200 ms; the top 1% (10 of them) waited 180 ms or more.
    // 100 ms leaves room for a late dispatcher and a slow machine.
    assert!(
        corrected.percentile(99.0).unwrap() >= Duration::from_millis(100),
        "{corrected:?}"
    );
    assert!(corrected.max_ns >= 190 * MS);
    // Once started, each of them was quick: only the stalled iteration
    // itself has a long service time, 1 sample in 1,000 (below p99).
    assert!(
        service.percentile(99.0).unwrap() < Duration::from_millis(20),
        "{service:?}"
    );
    assert!(service.max_ns >= 200 * MS);
    // The wait itself is the start delay: the iterations due during the
    // stall began up to 200 ms late; the rest on time.
    let delay = open
        .start_delay
        .as_ref()
        .expect("the open model keeps start delay");
    assert_eq!(delay.count, open.iterations);
    assert!(
        delay.percentile(99.0).unwrap() >= Duration::from_millis(100),
        "{delay:?}"
    );
    assert!(delay.max_ns >= 190 * MS, "{delay:?}");
    assert!(
        delay.percentile(50.0).unwrap() < Duration::from_millis(20),
        "{delay:?}"
    );
    assert!(open.summary().contains("start delay"), "{}", open.summary());

    let closed = quiet("open::generator_stall_closed")
        .workers(1)
        .repeat(1_000)
        .worker_threads(1)
        .run(stall)
        .unwrap();
    // The closed model waits out the stall and records it once.
    assert!(
        closed.percentile(99.0) < Duration::from_millis(20),
        "{:?}",
        closed.latency
    );
    assert!(closed.latency.max_ns >= 200 * MS);
    assert!(
        closed.start_delay.is_none(),
        "a closed model has no schedule"
    );
}

/// A server that processes one request at a time stalls for 200 ms once.
#[test]
fn a_server_stall_is_hidden_by_the_closed_model_and_shown_by_the_open_model() {
    type Request = std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>;
    fn server() -> impl Fn(Ctx) -> Request + Send + Sync + 'static {
        let lock = Arc::new(tokio::sync::Mutex::new(()));
        move |ctx: Ctx| -> Request {
            let lock = lock.clone();
            Box::pin(async move {
                let _serving = lock.lock().await;
                if ctx.iteration() == 300 {
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
            })
        }
    }
    let handler = server();
    let open = quiet("open::server_stall")
        .rate(500.0)
        .duration(Duration::from_secs(2))
        .workers(300)
        .run(handler)
        .unwrap();
    // ~100 requests arrived during the stall and queued at the server.
    assert!(
        open.percentile(99.0) >= Duration::from_millis(100),
        "{:?}",
        open.latency
    );

    let handler = server();
    let closed = quiet("open::server_stall_closed")
        .workers(4)
        .repeat(1_000)
        .run(handler)
        .unwrap();
    // Four workers: during the stall only 4 requests were outstanding, so
    // 4 samples of 1,000 show it, below the 99th percentile.
    assert!(
        closed.percentile(99.0) < Duration::from_millis(20),
        "{:?}",
        closed.latency
    );
    assert!(closed.latency.max_ns >= 200 * MS);
}

#[test]
fn ramping_arrival_rate_follows_the_stages() {
    // 0 → 200/s over 1 s (100 arrivals), then 200/s for 1 s (200 arrivals).
    let report = quiet("open::ramp")
        .rate(0.0)
        .stage(Duration::from_secs(1), 200.0)
        .stage(Duration::from_secs(1), 200.0)
        .run(|_| async {})
        .unwrap();
    assert_eq!(report.iterations + report.dropped, 300);
    let per_second: Vec<u64> = report.timeline.iter().map(|p| p.iterations).collect();
    assert!((80..=120).contains(&per_second[0]), "{per_second:?}");
    assert!((180..=220).contains(&per_second[1]), "{per_second:?}");
}

#[test]
fn spike_profile_bursts_tenfold_in_the_middle_fifth() {
    // 20/s for 2 s, 200/s for 1 s, 20/s for 2 s: 40 + 200 + 40.
    let report = quiet("open::spike")
        .rate(20.0)
        .duration(Duration::from_secs(5))
        .profile(Profile::Spike)
        .run(|_| async {})
        .unwrap();
    assert_eq!(report.iterations + report.dropped, 280);
    let per_second: Vec<u64> = report.timeline.iter().map(|p| p.iterations).collect();
    assert!((180..=220).contains(&per_second[2]), "{per_second:?}");
    for quiet_second in [0, 1, 3] {
        assert!(per_second[quiet_second] <= 40, "{per_second:?}");
    }
}

#[test]
fn peak_and_stress_profiles_scale_the_rate() {
    for (profile, expected) in [
        (Profile::Normal, 50),
        (Profile::Peak, 100),
        (Profile::Stress, 250),
    ] {
        let report = quiet("open::profiles")
            .rate(50.0)
            .duration(Duration::from_secs(1))
            .profile(profile)
            .run(|_| async {})
            .unwrap();
        assert_eq!(report.iterations + report.dropped, expected, "{profile}");
    }
}

#[test]
fn ramping_workers_start_as_the_ramp_reaches_them() {
    let first_seen: Arc<Mutex<HashMap<usize, Duration>>> = Arc::default();
    let start: Arc<OnceLock<Instant>> = Arc::default();
    let (seen, s) = (first_seen.clone(), start.clone());
    // From 1 worker to 4 over 1 s, then 4 for 0.5 s.
    let report = quiet("open::ramping_workers")
        .workers(1)
        .stage(Duration::from_secs(1), 4.0)
        .stage(Duration::from_millis(500), 4.0)
        .run(move |ctx| {
            let at = s.get_or_init(Instant::now).elapsed();
            seen.lock().unwrap().entry(ctx.worker()).or_insert(at);
            async { tokio::time::sleep(Duration::from_millis(10)).await }
        })
        .unwrap();
    let seen = first_seen.lock().unwrap();
    assert_eq!(seen.len(), 4, "{seen:?}");
    // Active workers = round(1 + 3t): the 4th (index 3) joins at t ≈ 0.83 s.
    assert!(seen[&3] >= Duration::from_millis(600), "{seen:?}");
    assert!(seen[&0] < Duration::from_millis(100), "{seen:?}");
    assert!(report.elapsed() >= Duration::from_millis(1500));
}

#[test]
fn a_window_threshold_finds_the_bad_second_the_whole_run_hides() {
    let start: Arc<OnceLock<Instant>> = Arc::default();
    let s = start.clone();
    let report = quiet("open::windows")
        .duration(Duration::from_secs(4))
        .threshold(Threshold::p(95.0).lt(Duration::from_millis(20)))
        .threshold(Threshold::p(95.0).lt(Duration::from_millis(20)).per(1))
        .run(move |_| {
            let elapsed = s.get_or_init(Instant::now).elapsed();
            // Slow (30 ms) only during the third second of the run.
            let slow = elapsed >= Duration::from_secs(2) && elapsed < Duration::from_secs(3);
            async move { tokio::time::sleep(Duration::from_millis(if slow { 30 } else { 1 })).await }
        })
        .unwrap();
    let (whole, windowed) = (&report.thresholds[0], &report.thresholds[1]);
    // ~33 slow iterations among ~2,000: the whole run's p95 stays fast.
    assert!(whole.passed, "{whole:?}");
    assert!(!windowed.passed, "{windowed:?}");
    let verdict = windowed.windows.as_ref().unwrap();
    assert_eq!(verdict.seconds, 1);
    assert_eq!(verdict.checked, 4);
    assert_eq!(verdict.first_broken_start, Some(2), "{verdict:?}");
    assert_eq!(verdict.worst_start, Some(2), "{verdict:?}");
    assert!(
        windowed.observed_display.contains("in 2s–3s"),
        "{}",
        windowed.observed_display
    );
}

#[test]
fn abort_on_fail_stops_the_run_early() {
    let calls = Arc::new(AtomicU64::new(0));
    let c = calls.clone();
    let report = quiet("open::abort")
        .duration(Duration::from_secs(20))
        .abort_on_fail(Duration::ZERO)
        .threshold(Threshold::error_rate().lt(0.1))
        .run(move |_| {
            c.fetch_add(1, Ordering::Relaxed);
            async {
                tokio::time::sleep(Duration::from_millis(5)).await;
                Err::<(), _>("always failing")
            }
        })
        .unwrap();
    // Checked twice a second: stopped long before the 20 s were up.
    assert!(
        report.elapsed() < Duration::from_secs(5),
        "{:?}",
        report.elapsed()
    );
    let reason = report.aborted.as_deref().unwrap();
    assert!(
        reason.starts_with("aborted after") && reason.contains("error_rate < 0.1"),
        "{reason}"
    );
    assert!(!report.passed);
    assert_eq!(calls.load(Ordering::Relaxed), report.iterations);
}

#[perf_test(duration = "20s", abort_on_fail = "500ms", p99 < "1ms")]
#[should_panic(expected = "aborted after")]
async fn abort_on_fail_fails_the_test_with_what_was_measured() {
    tokio::time::sleep(Duration::from_millis(10)).await;
}

#[test]
fn a_closed_gate_skips_the_test_without_running_it() {
    let calls = Arc::new(AtomicU64::new(0));
    let c = calls.clone();
    let report = quiet("open::gated")
        .gate("PERF_TESTS_GATE_THAT_IS_NEVER_SET")
        .run(move |_| {
            c.fetch_add(1, Ordering::Relaxed);
            async {}
        })
        .unwrap();
    assert_eq!(calls.load(Ordering::Relaxed), 0);
    let reason = report.skipped.as_deref().unwrap();
    assert!(
        reason.contains("PERF_TESTS_GATE_THAT_IS_NEVER_SET=true cargo test"),
        "{reason}"
    );
    assert!(report.passed);
}

#[test]
fn the_timeline_accounts_for_every_iteration() {
    let report = quiet("open::timeline")
        .rate(300.0)
        .duration(Duration::from_secs(2))
        .run(|_| async {})
        .unwrap();
    assert!(
        (2..=3).contains(&report.timeline.len()),
        "{}",
        report.timeline.len()
    );
    assert_eq!(
        report.timeline.iter().map(|p| p.iterations).sum::<u64>(),
        report.iterations
    );
    assert!(report
        .timeline
        .iter()
        .all(|p| p.p50_ns <= p.p99_ns && p.p99_ns <= p.max_ns));
}
