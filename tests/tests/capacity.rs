//! The capacity search against systems whose capacity is known: `k`
//! slots and a 10 ms service time serve at most `k / 10 ms` per second (a
//! semaphore and a sleep). The search must find that rate within ±15%,
//! put the knee below it when the system degrades before it breaks, and
//! never mistake the load generator's limit for the system's.

use std::sync::Arc;
use std::time::{Duration, Instant};

use perf_runtime::prelude::*;
use perf_runtime::{Capacity, StepOutcome};

const SERVICE: Duration = Duration::from_millis(10);

/// One request to a system under test.
type Request = std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), String>> + Send>>;

/// A system with `slots` concurrent slots, each busy for [`SERVICE`] per
/// request: requests beyond them queue.
fn system(slots: usize) -> impl Fn(Ctx) -> Request + Send + Sync + 'static {
    tiered(slots, 0)
}

/// A system that degrades before it breaks: `fast` slots of [`SERVICE`]
/// and, when all of them are busy, `slow` slots of three times as long
/// (a cache in front of a database; provisioned concurrency in front of
/// on-demand); when both are full, the request waits for a fast slot.
fn tiered(fast: usize, slow: usize) -> impl Fn(Ctx) -> Request + Send + Sync + 'static {
    let fast = Arc::new(tokio::sync::Semaphore::new(fast));
    let slow = Arc::new(tokio::sync::Semaphore::new(slow));
    move |_| {
        let (fast, slow) = (fast.clone(), slow.clone());
        Box::pin(async move {
            if let Ok(_slot) = fast.try_acquire() {
                tokio::time::sleep(SERVICE).await;
            } else if let Ok(_slot) = slow.try_acquire() {
                tokio::time::sleep(3 * SERVICE).await;
            } else {
                let _slot = fast.acquire().await.map_err(|e| e.to_string())?;
                tokio::time::sleep(SERVICE).await;
            }
            Ok(())
        })
    }
}

fn search<F, Fut>(name: &str, at_least: f64, body: F) -> Report
where
    F: Fn(Ctx) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = Result<(), String>> + Send + 'static,
{
    PerfTest::new(name)
        .no_report_file()
        .quiet()
        .env_overrides(false)
        .workers(400)
        .threshold(Threshold::p(95.0).lt(Duration::from_millis(50)))
        .threshold(Threshold::error_rate().lt(0.01))
        .threshold(Threshold::capacity().ge(at_least))
        .capacity(Capacity::rate(100..=5_000).hold(Duration::from_secs(2)))
        .run(body)
        .unwrap()
}

#[test]
fn finds_a_known_capacity_within_15_percent() {
    for (slots, at_least) in [(8, 500.0), (4, 600.0)] {
        // The sleep wakes on the timer's millisecond ticks: each slot
        // serves a little under 100/s.
        let truth = slots as f64 / SERVICE.as_secs_f64();
        let report = search(&format!("capacity::slots_{slots}"), at_least, system(slots));
        // The table, for `--nocapture`.
        eprintln!("{}", report.summary());
        let c = report.capacity.as_ref().expect("a capacity result");
        let found = c.capacity.expect("a rate held");
        assert!(
            (0.85 * truth..=1.15 * truth).contains(&found),
            "{slots} slots: capacity {found:.0}/s, known {truth:.0}/s\n{}",
            report.summary()
        );
        assert!(!c.at_least, "{}", c.verdict);
        assert!(c.generator_limited.is_none(), "{}", report.summary());
        assert_eq!(
            c.broken_by.as_deref(),
            Some("p95 < 50ms"),
            "{}",
            report.summary()
        );
        let broke = c.first_broken.unwrap();
        assert!(broke > found && (broke - found) / found <= 0.05 + 1e-9);
        // Every step above the capacity broke; every one at or below held.
        for s in &c.steps {
            let held = s.outcome == StepOutcome::Held;
            assert_eq!(held, s.offered <= found, "{:?}", s);
        }
        // Where it starts to hurt lies below where it breaks.
        if let Some(knee) = c.knee {
            assert!(knee <= broke, "knee {knee} vs broke {broke}");
        }
        // `capacity >= 500` passes at 8 slots (~800/s); `>= 600` fails at
        // 4 (~400/s), with the figure.
        assert_eq!(report.passed, found >= at_least, "{}", report.summary());
        let summary = report.summary();
        assert!(summary.contains("capacity.........."), "{summary}");
        assert!(summary.contains("broke `p95 < 50ms`"), "{summary}");
    }
}

#[test]
fn the_knee_lies_below_the_capacity_of_a_system_that_degrades_before_it_breaks() {
    // 4 fast slots of 10 ms serve 400/s; past that, requests spill into 8
    // slow slots of 30 ms (267/s more) and take 30 ms: within the 50 ms
    // limit, but over twice the 10 ms of the lowest step. Past 667/s
    // both are full and a queue grows. So p95 doubles (the knee) from
    // where more than 5% spill, a little above 400/s, and the limit
    // breaks (the capacity) near 667/s (a little under both: the timer
    // rounds each sleep up).
    let (fast, slow) = (4, 8);
    let truth = fast as f64 / SERVICE.as_secs_f64() + slow as f64 / (3.0 * SERVICE.as_secs_f64());
    let report = search("capacity::tiered", 500.0, tiered(fast, slow));
    eprintln!("{}", report.summary());
    let c = report.capacity.as_ref().expect("a capacity result");
    let found = c.capacity.expect("a rate held");
    assert!(
        (0.85 * truth..=1.15 * truth).contains(&found),
        "capacity {found:.0}/s, known {truth:.0}/s\n{}",
        report.summary()
    );
    let knee = c.knee.expect("p95 doubled before the limit broke");
    // The fast slots as the timer makes them (the lowest step's median
    // is one fast service). Below three quarters of their rate nothing
    // spills, whatever the timer's jitter, and p95 stays at the service
    // time; near their rate jitter spills some. The knee is a step that
    // still held, below the capacity.
    let fast_real = fast as f64 / (c.steps[0].p50_ns as f64 / 1e9);
    assert!(
        knee > 0.75 * fast_real && knee < found,
        "knee {knee:.0}/s: the fast slots serve {fast_real:.0}/s, the capacity is {found:.0}/s\n{}",
        report.summary()
    );
    let at_knee = c.steps.iter().find(|s| s.offered == knee).unwrap();
    assert_eq!(at_knee.outcome, StepOutcome::Held, "{}", report.summary());
    assert!(report.summary().contains("knee at"), "{}", report.summary());
}

#[test]
fn the_generators_limit_is_never_a_capacity() {
    // A no-op with a pool of 2 workers, asked for up to a million a second.
    let report = PerfTest::new("capacity::generator_limited")
        .no_report_file()
        .quiet()
        .env_overrides(false)
        .workers(2)
        .worker_threads(1)
        .threshold(Threshold::p(95.0).lt(Duration::from_millis(10)))
        .capacity(
            Capacity::rate(1_000.0..=1e6)
                .step(10.0)
                .hold(Duration::from_secs(1)),
        )
        .run(|_| async {})
        .unwrap();
    let c = report.capacity.as_ref().unwrap();
    assert!(c.at_least, "{}", report.summary());
    assert!(c.generator_limited.is_some(), "{}", report.summary());
    assert!(c.first_broken.is_none(), "{}", report.summary());
    assert!(
        c.verdict
            .contains("limited by the load generator, not by the system under test")
            || c.verdict.contains("never the limit"),
        "{}",
        c.verdict
    );
    assert!(matches!(
        c.steps.last().unwrap().outcome,
        StepOutcome::GeneratorLimited { .. }
    ));
    // Without a `capacity >=` threshold the search reports and passes.
    assert!(report.passed);
}

#[test]
fn a_search_over_workers_finds_the_concurrency_the_slots_hold() {
    // In a closed model every worker always has an iteration in flight.
    // Up to `k` workers each is served at once (mean = S, the service
    // time as the timer makes it); past `k` they queue and, the slots
    // always busy, the mean is n × S / k. So the most workers whose mean
    // stays under L is k × L / S.
    const LIMIT: Duration = Duration::from_millis(30);
    for slots in [4usize, 8] {
        let report = PerfTest::new(format!("capacity::workers_{slots}"))
            .no_report_file()
            .quiet()
            .env_overrides(false)
            .threshold(Threshold::mean().lt(LIMIT))
            .capacity(Capacity::workers(1..=64).hold(Duration::from_secs(2)))
            .run(system(slots))
            .unwrap();
        eprintln!("{}", report.summary());
        let c = report.capacity.as_ref().expect("a capacity result");
        let service = c.steps[0].mean_ns as f64 / 1e9;
        assert_eq!(c.steps[0].offered, 1.0, "the search starts at 1 worker");
        let truth = slots as f64 * LIMIT.as_secs_f64() / service;
        let found = c.capacity.expect("a number of workers held");
        assert!(
            (0.85 * truth..=1.15 * truth).contains(&found) && found.fract() == 0.0,
            "{slots} slots of {:.1} ms: {found} workers, known {truth:.1}\n{}",
            service * 1e3,
            report.summary()
        );
        // Bisected to the worker: the next one up broke.
        assert_eq!(c.first_broken, Some(found + 1.0), "{}", report.summary());
        assert!(
            !c.at_least && c.generator_limited.is_none(),
            "{}",
            c.verdict
        );
        for s in &c.steps {
            // Little's law: throughput × mean latency = workers in flight.
            let in_flight = s.achieved * s.mean_ns as f64 / 1e9;
            assert!(
                (in_flight - s.offered).abs() <= 0.1 * s.offered,
                "{} workers: {in_flight:.2} in flight",
                s.offered
            );
            // Past the slots, the throughput is theirs: k / S.
            if s.offered >= 2.0 * slots as f64 {
                let most = slots as f64 / service;
                assert!(
                    (s.achieved - most).abs() <= 0.1 * most,
                    "{} workers: {:.0}/s, the slots serve {most:.0}/s",
                    s.offered,
                    s.achieved
                );
            }
        }
        let summary = report.summary();
        assert!(
            summary.contains("Little's law")
                && summary.contains(&format!("capacity {found} workers")),
            "{summary}"
        );
        // Its steps ran in the search's turn: not another test beside it.
        assert!(!summary.contains("ran at the same time"), "{summary}");
    }
}

#[test]
fn a_timeout_stops_the_search_with_the_best_it_knows() {
    // Steps of 1 s that all hold, up a range that would take 10 of them:
    // a timeout of 3.5 s leaves time for at most 3 (a step starts only if
    // it can end in time, and each takes at least 0.8 s).
    let timeout = Duration::from_millis(3_500);
    // When the first iteration began and the last one ended: the search's
    // span, whatever it waited for its turn before.
    let span: Arc<std::sync::Mutex<Option<(Instant, Instant)>>> = Arc::default();
    let seen = span.clone();
    let report = PerfTest::new("capacity::timeout")
        .no_report_file()
        .quiet()
        .env_overrides(false)
        .workers(4)
        .timeout(timeout)
        .threshold(Threshold::p(95.0).lt(Duration::from_secs(1)))
        .capacity(
            Capacity::rate(10..=10_000)
                .step(2.0)
                .hold(Duration::from_secs(1)),
        )
        .run(move |_| {
            let seen = seen.clone();
            async move {
                let began = Instant::now();
                tokio::time::sleep(Duration::from_millis(1)).await;
                let mut span = seen.lock().unwrap();
                let first = span.map_or(began, |(first, _)| first);
                *span = Some((first, Instant::now()));
                Ok::<(), String>(())
            }
        })
        .unwrap();
    eprintln!("{}", report.summary());
    let c = report.capacity.as_ref().unwrap();
    let held = c.steps.len();
    assert!(
        (1..=3).contains(&held),
        "{held} steps in {timeout:?}\n{}",
        report.summary()
    );
    assert!(c.at_least, "{}", c.verdict);
    assert!(
        c.verdict.contains(&format!(
            "the timeout stopped the search after {held} steps"
        )),
        "{}",
        c.verdict
    );
    // The best it knows: the highest rate run, all of them held.
    assert_eq!(c.capacity, Some(10.0 * 2f64.powi(held as i32 - 1)));
    // No iteration ran past the timeout.
    let (first, last) = span.lock().unwrap().unwrap();
    assert!(last - first < timeout, "{:?}", last - first);
}

#[test]
fn bad_searches_are_errors_that_say_why() {
    let err = |t: PerfTest| t.run(|_| async {}).unwrap_err().to_string();
    let quiet = |t: PerfTest| t.no_report_file().quiet().env_overrides(false);
    let e = err(quiet(PerfTest::new("capacity::reversed"))
        .threshold(Threshold::p(95.0).lt(Duration::from_millis(10)))
        .capacity(Capacity::rate(500.0..=50.0)));
    assert!(e.contains("reversed"), "{e}");
    let e =
        err(quiet(PerfTest::new("capacity::nothing_to_judge"))
            .capacity(Capacity::rate(50.0..=500.0)));
    assert!(e.contains("nothing could break it"), "{e}");
    let e = err(quiet(PerfTest::new("capacity::with_a_rate"))
        .rate(100.0)
        .threshold(Threshold::p(95.0).lt(Duration::from_millis(10)))
        .capacity(Capacity::rate(50.0..=500.0)));
    assert!(e.contains("drop `rate`"), "{e}");
    let e =
        err(quiet(PerfTest::new("capacity::no_search")).threshold(Threshold::capacity().ge(100.0)));
    assert!(e.contains("without a capacity search"), "{e}");
}

/// Two slots of 10 ms: about 180/s. The attribute's search finds it, and
/// `capacity >= 100` passes.
#[perf_test(capacity(rate = 100..=2_000, hold = "1s", step = 2, precision = "10%"), workers = 100,
            p95 < "50ms", capacity >= 100)]
async fn the_attributes_search_finds_two_slots() -> Result<(), String> {
    static SLOTS: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(2);
    let _slot = SLOTS.acquire().await.map_err(|e| e.to_string())?;
    tokio::time::sleep(SERVICE).await;
    Ok(())
}

#[test]
fn a_gated_search_is_skipped_while_its_gate_is_closed() {
    // The variable is this test's own: nothing sets it.
    let report = PerfTest::new("capacity::gated")
        .no_report_file()
        .quiet()
        .env_overrides(false)
        .gate("PERF_CAPACITY_GATE_NEVER_SET")
        .workers(8)
        .threshold(Threshold::p(95.0).lt(Duration::from_millis(50)))
        .capacity(Capacity::rate(100..=5_000).hold(Duration::from_secs(2)))
        .run(|_ctx| async { Ok::<(), String>(()) })
        .unwrap();
    let skipped = report.skipped.as_deref().expect("skipped by its gate");
    assert!(
        skipped.contains("PERF_CAPACITY_GATE_NEVER_SET"),
        "{skipped}"
    );
    // No step ran (each would have held 2 s and left iterations).
    assert!(report.capacity.is_none() && report.iterations == 0);
}
