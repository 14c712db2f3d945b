//! What iterations say about themselves: tags (per-tag latency and
//! thresholds), error classes (counted, `<class>_rate` thresholds) and
//! custom metrics.

use std::time::Duration;

use perf_runtime::prelude::*;

fn quiet(name: &str) -> PerfTest {
    PerfTest::new(name).no_report_file().quiet()
}

/// The first 5 iterations are "cold" (20 ms), the rest "warm" (1 ms); the
/// tag is set before an await, so the iteration may finish on another
/// thread than it was tagged on.
async fn cold_then_warm(ctx: Ctx) {
    let cold = ctx.iteration() < 5;
    ctx.tag(if cold { "cold" } else { "warm" });
    tokio::time::sleep(Duration::from_millis(if cold { 20 } else { 1 })).await;
    if cold {
        ctx.record_duration("init", Duration::from_millis(15));
    }
    ctx.record("consumed_rcu", 0.5);
    ctx.count("requests", 2);
}

#[test]
fn tags_get_their_own_latency_and_thresholds() {
    let report = quiet("notes::tags")
        .workers(1)
        .repeat(60)
        .worker_threads(2)
        .threshold(
            Threshold::p(95.0)
                .lt(Duration::from_secs(1))
                .for_tag("cold"),
        )
        .threshold(
            Threshold::p(50.0)
                .lt(Duration::from_millis(10))
                .for_tag("warm"),
        )
        .threshold(
            Threshold::p(50.0)
                .lt(Duration::from_millis(5))
                .for_tag("cold"),
        )
        .threshold(
            Threshold::p(50.0)
                .lt(Duration::from_secs(1))
                .for_tag("never_seen"),
        )
        .run(cold_then_warm)
        .unwrap();
    let (cold, warm) = (&report.tags["cold"], &report.tags["warm"]);
    assert_eq!((cold.iterations, warm.iterations), (5, 55));
    // A 20 ms sleep never takes less than 20 ms; a 1 ms one is far below 10.
    assert!(cold.latency.percentile(50.0).unwrap() >= Duration::from_millis(20));
    assert!(warm.latency.percentile(50.0).unwrap() < Duration::from_millis(10));
    let verdicts: Vec<(&str, bool)> = report
        .thresholds
        .iter()
        .map(|t| (t.threshold.as_str(), t.passed))
        .collect();
    assert_eq!(
        &verdicts[..4],
        [
            ("p95 for \"cold\" < 1s", true),
            ("p50 for \"warm\" < 10ms", true),
            ("p50 for \"cold\" < 5ms", false),
            ("p50 for \"never_seen\" < 1s", false),
        ]
    );
    assert_eq!(report.thresholds[3].observed_display, "no data");
    assert!(
        report.summary().contains("tag cold"),
        "{}",
        report.summary()
    );
}

#[test]
fn custom_metrics_are_summarised() {
    let report = quiet("notes::custom")
        .workers(2)
        .repeat(60)
        .run(cold_then_warm)
        .unwrap();
    let rcu = &report.custom["consumed_rcu"];
    assert_eq!(
        (rcu.kind.as_str(), rcu.count, rcu.sum, rcu.mean),
        ("value", 60, 30.0, 0.5)
    );
    let requests = &report.custom["requests"];
    assert_eq!((requests.kind.as_str(), requests.sum), ("count", 120.0));
    let init = &report.custom["init"];
    assert_eq!((init.kind.as_str(), init.count), ("duration", 5));
    let p50 = init
        .percentiles
        .iter()
        .find(|p| p.percentile == 50.0)
        .unwrap()
        .value_ns;
    assert!((15_000_000..15_020_000).contains(&p50), "{p50}");
    assert!(
        report.summary().contains(
            "custom............: value consumed_rcu  count 60  sum 30  min 0.5  mean 0.5  max 0.5"
        ),
        "{}",
        report.summary()
    );
}

#[test]
fn error_classes_are_counted_and_gated() {
    let report = quiet("notes::classes")
        .workers(2)
        .repeat(100)
        .iteration_timeout(Duration::from_millis(50))
        .threshold(Threshold::error_rate().le(1.0))
        .threshold(Threshold::class_rate("throttle").lt(0.2))
        .threshold(Threshold::class_rate("function_error").lt(0.01))
        .run(|ctx| async move {
            match ctx.iteration() % 10 {
                0 => {
                    ctx.error_class("throttle");
                    Err("TooManyRequestsException")
                }
                1 => {
                    ctx.error_class("function_error");
                    Err("Unhandled")
                }
                2 if ctx.iteration() < 20 => {
                    tokio::time::sleep(Duration::from_secs(5)).await;
                    Ok(())
                }
                3 => Err("untyped"),
                _ => Ok(()),
            }
        })
        .unwrap();
    let classes: Vec<(&str, u64)> = report
        .error_classes
        .iter()
        .map(|(c, n)| (c.as_str(), *n))
        .collect();
    assert_eq!(
        classes,
        [
            ("error", 10),
            ("function_error", 10),
            ("throttle", 10),
            ("timeout", 2)
        ]
    );
    assert_eq!(report.errors, 32);
    let verdicts: Vec<bool> = report.thresholds.iter().map(|t| t.passed).collect();
    assert_eq!(verdicts, [true, true, false]);
    assert_eq!(report.thresholds[1].observed_display, "0.1000 (10 of 100)");
    assert!(
        report
            .summary()
            .contains("by class: function_error 10, throttle 10"),
        "{}",
        report.summary()
    );
}

/// A tag and an error class made from a response at run time, as from
/// `status.as_str()`: thresholds on them work as on literals.
#[test]
fn tags_and_classes_made_at_run_time() {
    let report = quiet("notes::dynamic")
        .workers(2)
        .repeat(100)
        .threshold(Threshold::error_rate().le(1.0))
        .threshold(Threshold::class_rate("http_503").lt(0.05))
        .threshold(
            Threshold::p(95.0)
                .lt(Duration::from_secs(1))
                .for_tag("status_200"),
        )
        .run(|ctx| async move {
            let status = if ctx.iteration() % 10 == 0 { 503 } else { 200 };
            ctx.tag(format!("status_{status}"));
            if status >= 500 {
                ctx.error_class(format!("http_{status}"));
                return Err("service unavailable");
            }
            Ok(())
        })
        .unwrap();
    assert_eq!(report.tags["status_200"].iterations, 90);
    assert_eq!(report.tags["status_503"].iterations, 10);
    assert_eq!(report.error_classes["http_503"], 10);
    let verdicts: Vec<bool> = report.thresholds.iter().map(|t| t.passed).collect();
    assert_eq!(verdicts, [true, false, true], "{}", report.summary());
}

#[perf_test(workers = 2, repeat = 40, p95 for "warm" < "1s", throttle_rate < 0.5, error_rate < 0.5)]
async fn the_attribute_takes_tag_and_class_thresholds(ctx: &Ctx) -> Result<(), &'static str> {
    ctx.tag("warm");
    if ctx.iteration().is_multiple_of(4) {
        ctx.error_class("throttle");
        return Err("throttled");
    }
    Ok(())
}

#[perf_test(repeat = 20, throttle_rate < 0.1, error_rate <= 1)]
#[should_panic(expected = "throttle_rate: observed 0.5000 (10 of 20)")]
async fn a_class_rate_threshold_fails_the_test(ctx: Ctx) -> Result<(), &'static str> {
    if ctx.iteration().is_multiple_of(2) {
        ctx.error_class("throttle");
        return Err("throttled");
    }
    Ok(())
}

/// Custom metrics in thresholds: a number metric's mean and sum, a
/// duration metric's percentile, a counter's total, a unit mismatch and a
/// metric never recorded.
#[test]
fn custom_metric_thresholds() {
    let report = quiet("notes::custom_thresholds")
        .workers(1)
        .repeat(60)
        .worker_threads(2)
        .threshold(Threshold::of("consumed_rcu").mean().le(0.5))
        .threshold(Threshold::of("consumed_rcu").sum().lt(10.0))
        .threshold(
            Threshold::of("init")
                .p(95.0)
                .lt_duration(Duration::from_millis(20)),
        )
        .threshold(Threshold::of("requests").sum().ge(120.0))
        .threshold(Threshold::of("init").mean().lt(1.0))
        .threshold(Threshold::of("never_recorded").max().lt(1.0))
        .threshold(Threshold::of("init").count().le(5.0))
        .threshold(Threshold::of("request").sum().ge(1.0))
        .run(cold_then_warm)
        .unwrap();
    let verdicts: Vec<(&str, bool, &str)> = report
        .thresholds
        .iter()
        .map(|t| (t.threshold.as_str(), t.passed, t.observed_display.as_str()))
        .collect();
    assert_eq!(
        &verdicts[..8],
        [
            ("mean of \"consumed_rcu\" <= 0.5", true, "0.5000"),
            // 60 x 0.5 = 30.
            ("sum of \"consumed_rcu\" < 10", false, "30.0000"),
            ("p95 of \"init\" < 20ms", true, "15ms"),
            ("sum of \"requests\" >= 120", true, "120.0000"),
            (
                "mean of \"init\" < 1",
                false,
                "`init` records durations: give the limit as a duration"
            ),
            (
                "max of \"never_recorded\" < 1",
                false,
                "no data: nothing was recorded as `never_recorded` (recorded: `consumed_rcu`, `init`, `requests`)"
            ),
            ("count of \"init\" <= 5", true, "5.0000"),
            // A typo names the metric it was likely meant to be.
            (
                "sum of \"request\" >= 1",
                false,
                "no data: nothing was recorded as `request`; did you mean `requests`? (recorded: `consumed_rcu`, `init`, `requests`)"
            ),
        ]
    );
}

#[perf_test(
    repeat = 20,
    mean of "consumed_rcu" <= 0.5,
    p99 of "init" < "1s",
    count of "init" >= 20,
    sum of "requests" >= 40
)]
async fn the_attribute_takes_custom_metric_thresholds(ctx: Ctx) {
    ctx.record("consumed_rcu", 0.5);
    ctx.record_duration("init", Duration::from_millis(2));
    ctx.count("requests", 2);
}
