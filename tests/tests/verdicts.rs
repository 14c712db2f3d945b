//! The three verdicts of a threshold on a real run, and what each
//! `inconclusive` policy makes of an inconclusive one. Of 100 iterations
//! on one worker, `short` sleep 1 ms and the others 6 ms: every latency is
//! at least 1 ms and the two groups are far apart on any machine (a busy
//! one only lengthens sleeps). So a p50 limit of 50 ms *passes*, one of
//! 500 µs *fails*, and one of 3.5 ms, between the groups, is
//! *inconclusive*: the median (the 50th value) is a short sleep when 50
//! are short and a long one when 49 are, and either way its interval
//! reaches into both groups. The interval arithmetic itself is tested on synthetic
//! data in `perf-runtime/src/judge/interval.rs`.

use std::time::Duration;

use perf_runtime::prelude::*;
use perf_runtime::{Decision, Inconclusive};

fn run(short: u64, threshold: Threshold, policy: Option<Inconclusive>) -> Report {
    let mut test = PerfTest::new("verdicts::two_halves")
        .workers(1)
        .repeat(100)
        .threshold(threshold)
        .env_overrides(false)
        .no_report_file()
        .quiet();
    if let Some(policy) = policy {
        test = test.inconclusive(policy);
    }
    test.run(move |ctx| async move {
        let ms = if ctx.iteration() % 100 < short { 1 } else { 6 };
        tokio::time::sleep(Duration::from_millis(ms)).await;
    })
    .unwrap()
}

fn p50() -> perf_runtime::LatencyBound {
    Threshold::p(50.0)
}

#[test]
fn a_real_run_gives_all_three_verdicts() {
    let pass = run(50, p50().lt(Duration::from_millis(50)), None);
    assert_eq!(pass.thresholds[0].decision, Some(Decision::Pass));
    assert!(pass.passed, "{}", pass.summary());

    let fail = run(50, p50().lt(Duration::from_micros(500)), None);
    assert_eq!(fail.thresholds[0].decision, Some(Decision::Fail));
    assert!(!fail.passed);

    let unsure = run(50, p50().lt(Duration::from_micros(3_500)), None);
    let t = &unsure.thresholds[0];
    assert_eq!(
        t.decision,
        Some(Decision::Inconclusive),
        "{}",
        unsure.summary()
    );
    let iv = t.interval.unwrap();
    assert!(
        iv.low < 3.5e6 && iv.high.is_none_or(|h| h > 3.5e6),
        "{iv:?}"
    );
    assert!(t.observed.unwrap() < 3.5e6, "the median is a short sleep");
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
    // With 50 short sleeps the value passes `p50 < 3.5ms`, with 49 it
    // fails it; both are inconclusive.
    let limit = || p50().lt(Duration::from_micros(3_500));
    for (short, policy, passes) in [
        (50, Inconclusive::Warn, true),
        (50, Inconclusive::Fail, false),
        (50, Inconclusive::Pass, true),
        (49, Inconclusive::Warn, false),
        (49, Inconclusive::Fail, false),
        (49, Inconclusive::Pass, true),
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
