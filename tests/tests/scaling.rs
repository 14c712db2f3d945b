//! Scaling validation against servers whose scale-out is known: a server
//! that starts with one slot of 10 ms and adds one every 5 s while
//! requests queue (up to 8), under a step from 50/s to 600/s. The
//! recovery measured must be within ±3 s of the scale-out the server
//! itself recorded; a server that never scales never recovers.

use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use perf_runtime::prelude::*;
use perf_runtime::{Metric, Op};

const SERVICE: Duration = Duration::from_millis(10);
const SCALE_EVERY: Duration = Duration::from_secs(5);

/// A server of `slots` slots of [`SERVICE`], scaling out up to `most`.
struct Server {
    slots: tokio::sync::Semaphore,
    waiting: AtomicUsize,
    first_request: OnceLock<Instant>,
    /// When each slot was added.
    scaled: Mutex<Vec<Instant>>,
}

impl Server {
    /// Starts the server and its scaler (a task of the test's runtime).
    fn start(most: usize) -> Arc<Server> {
        let server = Arc::new(Server {
            slots: tokio::sync::Semaphore::new(1),
            waiting: AtomicUsize::new(0),
            first_request: OnceLock::new(),
            scaled: Mutex::new(Vec::new()),
        });
        let scaler = Arc::downgrade(&server);
        tokio::spawn(async move {
            let mut slots = 1;
            let mut tick = tokio::time::interval(SCALE_EVERY);
            tick.tick().await;
            loop {
                tick.tick().await;
                let Some(s) = scaler.upgrade() else { return };
                if slots < most && s.waiting.load(SeqCst) > 0 {
                    s.slots.add_permits(1);
                    slots += 1;
                    s.scaled.lock().unwrap().push(Instant::now());
                }
            }
        });
        server
    }

    async fn serve(&self) -> Result<(), String> {
        self.first_request.get_or_init(Instant::now);
        self.waiting.fetch_add(1, SeqCst);
        let slot = self.slots.acquire().await.map_err(|e| e.to_string());
        self.waiting.fetch_sub(1, SeqCst);
        let _slot = slot?;
        tokio::time::sleep(SERVICE).await;
        Ok(())
    }
}

/// 5 s at 50/s, then the peak at 600/s; 40 workers, so that arrivals the
/// server cannot take yet are dropped by the generator rather than queued
/// without end (a queue of 40 drains in a second or two once the server
/// has scaled).
fn step(name: &str, peak: Duration) -> PerfTest {
    PerfTest::new(format!("scaling::{name}"))
        .no_report_file()
        .quiet()
        .env_overrides(false)
        .rate(50.0)
        .workers(40)
        .named_stage("baseline", Duration::from_secs(5), 50.0)
        .named_stage("peak", Duration::ZERO, 600.0)
        .named_stage("peak", peak, 600.0)
        .threshold(Threshold::p(95.0).lt(Duration::from_millis(40)))
        // Shedding load while it scales is what the step is about.
        .threshold(Threshold::dropped_rate().lt(0.95).in_phase("peak"))
        .threshold(Threshold::recovery("peak").lt(Duration::from_secs(60)))
}

#[test]
fn the_recovery_measured_is_the_servers_own_scale_out_time() {
    let server: Arc<OnceLock<Arc<Server>>> = Arc::default();
    let seen = server.clone();
    let report = step("scales_out", Duration::from_secs(45))
        .threshold(
            Threshold::p(95.0)
                .lt(Duration::from_millis(20))
                .in_phase("baseline"),
        )
        .threshold(Threshold::relative(Metric::Mean, Op::Lt, 1.5, "baseline").in_phase("peak"))
        .setup(move || async move {
            let s = Server::start(8);
            let _ = seen.set(s.clone());
            s
        })
        .run(|_, s| async move { s.serve().await })
        .unwrap();
    eprintln!("{}", report.summary());
    let server = server.get().unwrap();
    let peak_start = *server.first_request.get().unwrap() + Duration::from_secs(5);
    let scaled = server.scaled.lock().unwrap().clone();
    // Enough slots for 600/s (7 or 8 of them, about 89/s each) were
    // reached when the last one was added: that is the scale-out time.
    assert!(
        (6..=7).contains(&scaled.len()),
        "{} slots added",
        scaled.len()
    );
    let known = scaled
        .last()
        .unwrap()
        .duration_since(peak_start)
        .as_secs_f64();
    let outcome = |metric: &str| {
        report
            .thresholds
            .iter()
            .find(|t| t.threshold.starts_with(metric))
            .unwrap_or_else(|| panic!("{metric}: {:?}", report.thresholds))
    };
    let recovery = outcome("recovery in \"peak\"");
    let measured = recovery.observed.expect("it recovered") / 1e9;
    eprintln!(
        "{} slots added, the last {known:.1}s into the peak; recovery measured {measured:.0}s",
        scaled.len()
    );
    assert!(
        (measured - known).abs() <= 3.0,
        "recovery {measured:.0}s, scaled out at {known:.1}s: {}\n{}",
        recovery.observed_display,
        report.summary()
    );
    assert!(recovery.passed, "{recovery:?}");
    // Per phase: the baseline held its p95; the peak's mean is far over
    // 1.5 times the baseline's (it queued for half a minute).
    assert!(outcome("p95 in \"baseline\"").passed);
    let relative = outcome("mean in \"peak\"");
    assert!(
        !relative.passed && relative.observed_display.contains("1.5 × \"baseline\"'s"),
        "{relative:?}"
    );
    // Each phase has its own figures.
    let [baseline, peak] = &report.phases[..] else {
        panic!("{:?}", report.phases)
    };
    assert_eq!(
        (baseline.name.as_str(), baseline.start_s, baseline.end_s),
        ("baseline", 0, 5)
    );
    assert_eq!(
        (peak.name.as_str(), peak.start_s, peak.end_s),
        ("peak", 5, 50)
    );
    assert!((45.0..=55.0).contains(&baseline.throughput), "{baseline:?}");
    assert!(
        peak.dropped > 0 && peak.p95_ns > baseline.p95_ns * 2,
        "{peak:?}"
    );
    let summary = report.summary();
    assert!(
        summary.contains("phases............: 2 named in the stages"),
        "{summary}"
    );
}

#[test]
fn a_server_that_never_scales_never_recovers() {
    let report = step("never_scales", Duration::from_secs(10))
        .setup(|| async { Server::start(1) })
        .run(|_, s| async move { s.serve().await })
        .unwrap();
    let recovery = report
        .thresholds
        .iter()
        .find(|t| t.metric == "recovery")
        .unwrap();
    assert!(
        !recovery.passed && recovery.observed.is_none(),
        "{recovery:?}"
    );
    assert!(
        recovery
            .observed_display
            .starts_with("never recovered in 10s"),
        "{}",
        recovery.observed_display
    );
    assert!(!report.passed);
    assert!(
        report.summary().contains("never recovered in 10s"),
        "{}",
        report.summary()
    );
}

/// The attribute's form of the original framework's auto-scaling test,
/// on a body that does not slow down: every phase holds.
#[perf_test(
    rate = 20,
    workers = 10,
    stages = [("baseline", "2s", 20), ("peak", "0s", 100), ("peak", "2s", 100)],
    p95 < "50ms",
    mean in "peak" < 1.5 * "baseline",
    throughput in "peak" > 3 * "baseline",
    recovery in "peak" < "2s",
    error_rate in "peak" < "1%"
)]
async fn a_body_that_keeps_up_recovers_at_once() {
    tokio::time::sleep(Duration::from_millis(5)).await;
}
