//! The three verdicts of a threshold on a real run, and what each
//! `inconclusive` policy makes of an inconclusive one. Of 40 iterations
//! on one worker, `short` sleep 1 ms and the others 20 ms: every latency
//! is at least 1 ms, and the two groups stay apart on a busy machine (one
//! only lengthens sleeps: CI, sharing its 2 cores with four compiler
//! processes, once saw 1 ms sleeps take over 6 ms, so a 1 ms / 6 ms split
//! was not enough). A p50 limit of 100 ms *passes*, one of 500 µs
//! *fails*, and one of 10 ms, between the groups, is *inconclusive*: the
//! median (the 20th value) is a short sleep when 20 are short and a long
//! one when 19 are, and either way its interval (the 14th to the 27th
//! value) reaches into both groups. The interval arithmetic itself is
//! tested on synthetic data in `perf-runtime/src/judge/interval.rs`.

use std::time::Duration;

use perf_runtime::prelude::*;
use perf_runtime::{Decision, Inconclusive};

fn run(short: u64, threshold: Threshold, policy: Option<Inconclusive>) -> Report {
    let mut test = PerfTest::new("verdicts::two_halves")
        .workers(1)
        .repeat(40)
        .threshold(threshold)
        .env_overrides(false)
        .no_report_file()
        .quiet();
    if let Some(policy) = policy {
        test = test.inconclusive(policy);
    }
    test.run(move |ctx| async move {
        let ms = if ctx.iteration() % 40 < short { 1 } else { 20 };
        tokio::time::sleep(Duration::from_millis(ms)).await;
    })
    .unwrap()
}

fn p50() -> perf_runtime::LatencyBound {
    Threshold::p(50.0)
}

#[test]
fn a_real_run_gives_all_three_verdicts() {
    let pass = run(20, p50().lt(Duration::from_millis(100)), None);
    assert_eq!(pass.thresholds[0].decision, Some(Decision::Pass));
    assert!(pass.passed, "{}", pass.summary());

    let fail = run(20, p50().lt(Duration::from_micros(500)), None);
    assert_eq!(fail.thresholds[0].decision, Some(Decision::Fail));
    assert!(!fail.passed);

    let unsure = run(20, p50().lt(Duration::from_millis(10)), None);
    let t = &unsure.thresholds[0];
    assert_eq!(
        t.decision,
        Some(Decision::Inconclusive),
        "{}",
        unsure.summary()
    );
    let iv = t.interval.unwrap();
    assert!(iv.low < 10e6 && iv.high.is_none_or(|h| h > 10e6), "{iv:?}");
    assert!(t.observed.unwrap() < 10e6, "the median is a short sleep");
    // "warn" (the default): the value decides, and the summary says the
    // verdict was decided by noise.
    assert!(unsure.passed);
    let summary = unsure.summary();
    assert!(
        summary.contains("inconclusive at 95%: the value passes, the limit is inside the interval"),
        "{summary}"
    );
}

#[test]
fn each_policy_decides_an_inconclusive_threshold_its_way() {
    // With 20 short sleeps the value passes `p50 < 10ms`, with 19 it
    // fails it; both are inconclusive.
    let limit = || p50().lt(Duration::from_millis(10));
    for (short, policy, passes) in [
        (20, Inconclusive::Warn, true),
        (20, Inconclusive::Fail, false),
        (20, Inconclusive::Pass, true),
        (19, Inconclusive::Warn, false),
        (19, Inconclusive::Fail, false),
        (19, Inconclusive::Pass, true),
    ] {
        let threshold = limit();
        let text = threshold.to_string();
        let r = run(short, threshold, Some(policy));
        let t = &r.thresholds[0];
        assert_eq!(
            t.decision,
            Some(Decision::Inconclusive),
            "{text}: {}",
            r.summary()
        );
        assert_eq!(
            r.passed,
            passes,
            "{short} short, {text} under {policy}: {}",
            r.summary()
        );
        assert_eq!(
            r.judging.inconclusive, policy,
            "the report records the policy"
        );
        if policy != Inconclusive::Warn {
            let says = format!("inconclusive = \"{policy}\"");
            assert!(r.summary().contains(&says), "{}", r.summary());
        }
    }
}
