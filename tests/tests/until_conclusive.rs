//! `repeat = "auto"` on real runs: a run whose threshold is far from its
//! value stops at its first looks instead of running to its cap, and one
//! whose limit sits between two groups of latencies (the median's interval
//! always reaches into both) runs to `max_repeat` and stays inconclusive.
//! That the looks' intervals stay valid under optional stopping is shown
//! on synthetic data in `perf-runtime/src/judge/until.rs`.

use std::time::Duration;

use perf_runtime::prelude::*;
use perf_runtime::{AutoStopped, Decision};

fn auto(name: &str, workers: usize, max_repeat: u64, threshold: Threshold) -> PerfTest {
    PerfTest::new(format!("until_conclusive::{name}"))
        .workers(workers)
        .repeat_auto()
        .max_repeat(max_repeat)
        .timeout(Duration::from_secs(120))
        .threshold(threshold)
        .env_overrides(false)
        .no_report_file()
        .quiet()
}

#[test]
fn a_clear_margin_stops_long_before_the_cap() {
    // 2 ms sleeps against a 50 ms limit: even a busy machine's sleeps
    // stay far below it, so the first look (after ~256 iterations, when
    // the worker first flushes) settles it. The cap of 100,000 would take
    // over 200 s.
    let r = auto(
        "clear_margin",
        1,
        100_000,
        Threshold::p(95.0).lt(Duration::from_millis(50)),
    )
    .run(|_ctx| async {
        tokio::time::sleep(Duration::from_millis(2)).await;
    })
    .unwrap();
    println!("{}", r.summary());
    let a = r.auto.as_ref().expect("the report records the looks");
    assert_eq!(a.stopped, AutoStopped::Conclusive, "{}", r.summary());
    assert!(r.iterations < 5_000, "{} iterations", r.iterations);
    assert!(!a.looks.is_empty() && a.looks.last().unwrap().open == 0);
    assert_eq!(r.thresholds[0].decision, Some(Decision::Pass));
    assert!(r.passed, "{}", r.summary());
    // The verdict is at the stopping look's confidence, above the test's.
    let iv = r.thresholds[0].interval.unwrap();
    assert!(
        iv.confidence > 0.95 && iv.confidence == a.confidence,
        "{iv:?}"
    );
    let summary = r.summary();
    assert!(
        summary.contains("repeat = \"auto\": stopped when every threshold was conclusive"),
        "{summary}"
    );
}

#[test]
fn a_limit_between_two_groups_runs_to_the_cap_and_stays_inconclusive() {
    // Every other iteration sleeps 5 ms, the rest return at once: the
    // median's interval holds both groups at any sample count, so no look
    // can settle `p50 < 1ms`.
    let r = auto(
        "two_groups",
        4,
        2_000,
        Threshold::p(50.0).lt(Duration::from_millis(1)),
    )
    .run(|ctx| async move {
        if ctx.iteration() % 2 == 0 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .unwrap();
    println!("{}", r.summary());
    let a = r.auto.as_ref().expect("the report records the looks");
    assert_eq!(a.stopped, AutoStopped::MaxRepeat, "{}", r.summary());
    assert_eq!(r.iterations, 2_000);
    assert!(a.looks.iter().all(|l| l.open == 1), "{:?}", a.looks);
    assert_eq!(
        r.thresholds[0].decision,
        Some(Decision::Inconclusive),
        "{}",
        r.summary()
    );
    assert!(
        r.summary().contains("reached max_repeat = 2,000"),
        "{}",
        r.summary()
    );
}

#[test]
fn a_run_that_cannot_stop_by_its_looks_is_refused_before_it_starts() {
    let body = |_ctx: Ctx| async {};
    let err = |test: PerfTest| test.run(body).unwrap_err().to_string();
    // Only a maximum: no threshold with an interval for the looks.
    let e = err(auto(
        "no_interval",
        1,
        100,
        Threshold::max().lt(Duration::from_millis(1)),
    ));
    assert!(e.contains("no threshold the looks can settle"), "{e}");
    let open = auto(
        "open",
        1,
        100,
        Threshold::p(95.0).lt(Duration::from_millis(1)),
    )
    .rate(10.0)
    .duration(Duration::from_secs(1));
    assert!(err(open).contains("closed-model"));
    let cap = PerfTest::new("until_conclusive::cap_alone")
        .repeat(10)
        .max_repeat(100)
        .env_overrides(false)
        .no_report_file()
        .quiet();
    assert!(err(cap).contains("`max_repeat` caps"));
}

#[test]
fn a_body_that_never_yields_is_still_looked_at() {
    // 1 ms of spinning without an await, on 4 workers and 2 runtime
    // threads: the runtime's threads never come free for a task, so the
    // looks are taken from a thread of their own. The cap of 100,000
    // would take 50 s; the first look, due at 100 iterations and taken
    // within a tick (0.5 s, ~1,000 iterations), settles a 1 s limit.
    let r = auto(
        "never_yields",
        4,
        100_000,
        Threshold::p(95.0).lt(Duration::from_secs(1)),
    )
    .worker_threads(2)
    .run(|_ctx| async {
        let start = std::time::Instant::now();
        while start.elapsed() < Duration::from_millis(1) {
            std::hint::spin_loop();
        }
    })
    .unwrap();
    let a = r.auto.as_ref().expect("the report records the looks");
    assert_eq!(a.stopped, AutoStopped::Conclusive, "{}", r.summary());
    assert!(
        r.iterations < 10_000,
        "{} iterations: {}",
        r.iterations,
        r.summary()
    );
    // The stopping look saw about what the run did: it is not a look
    // taken once the run had already gone on to its cap.
    let last = a.looks.last().unwrap();
    assert!(last.iterations < 10_000 && last.open == 0, "{last:?}");
}
