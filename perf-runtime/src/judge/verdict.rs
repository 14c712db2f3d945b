//! The verdict of a run, computed once: figures and threshold outcomes
//! from what was measured ([`Report::build`]), then [`settle`] decides
//! `passed` from the thresholds, the baseline comparison and the run's
//! role (a shard defers its thresholds to the merge). Nothing else
//! assigns `Report::passed`.

use std::collections::BTreeMap;
use std::time::{Duration, UNIX_EPOCH};

use hdrhistogram::Histogram;

use crate::judge::figures::Figures;
use crate::model::load::LoadShape;
use crate::model::measured::{Measured, Recorded};
use crate::model::report::{
    CustomStats, LatencyStats, Report, TagStats, WarmupStats, REPORT_SCHEMA_VERSION,
};
use crate::model::shard::Shard;
use crate::model::threshold::{Judging, Threshold, ThresholdOutcome};

/// Percentiles every report lists, besides those thresholds ask for.
const STANDARD_PERCENTILES: [f64; 6] = [50.0, 75.0, 90.0, 95.0, 99.0, 99.9];

impl Report {
    pub(crate) fn build(
        name: String,
        load: LoadShape,
        m: Measured,
        thresholds: &[Threshold],
        debug_build: bool,
        judging: Judging,
        shard: Option<Shard>,
    ) -> Report {
        let main = m.main;
        // A `repeat = "auto"` run's verdicts are at its stopping look's
        // confidence (see `crate::judge::until`).
        let nominal = judging;
        let judging = match &m.auto {
            Some(auto) => Judging {
                confidence: auto.confidence,
                ..judging
            },
            None => judging,
        };
        let mut wanted: Vec<f64> = STANDARD_PERCENTILES.to_vec();
        for t in thresholds {
            match t.metric() {
                perf_spec::Metric::Percentile(p)
                | perf_spec::Metric::Custom {
                    stat: perf_spec::Stat::Percentile(p),
                    ..
                } => wanted.push(p.value()),
                _ => {}
            }
        }
        wanted.sort_by(f64::total_cmp);
        wanted.dedup();
        let secs = m.elapsed.as_secs_f64();
        let pool = load.pool_size() as u64;
        let scheduled = main.iterations + main.dropped;
        let custom: BTreeMap<String, CustomStats> = main
            .custom
            .iter()
            .map(|(name, c)| (name.clone(), CustomStats::of(c, &wanted)))
            .collect();
        let whole = Figures {
            memory: m.memory.as_ref(),
            classes: Some(&main.classes),
            custom: Some(&custom),
            resources: m.resources.as_ref(),
            iterations: main.iterations,
            errors: main.errors,
            dropped: main.dropped,
            seconds: secs,
            latency: &main.histogram,
        };
        // Windows only cover seconds that ended before the run did.
        let complete = m.elapsed.as_secs() as u32;
        let tag_figures = |tag: &str| {
            main.tags
                .get(tag)
                .map(|t| Figures::tagged(&t.latency, t.errors, secs))
        };
        // A phase's last second counts when the run ended just short of it.
        let phases = crate::judge::phases::spans(&load, m.elapsed.as_secs_f64().round() as u32);
        let mut outcomes: Vec<ThresholdOutcome> = thresholds
            .iter()
            .map(|t| match t.tag() {
                _ if t.0.phase.is_some() => {
                    crate::judge::phases::evaluate(t, judging, &phases, &main.timeline, thresholds)
                }
                // A tag never seen has no data: the threshold fails.
                Some(tag) => t.evaluate_judged(
                    judging,
                    &tag_figures(tag).unwrap_or_else(|| Figures::empty()),
                    &Default::default(),
                    0,
                ),
                None => t.evaluate_judged(judging, &whole, &main.timeline, complete),
            })
            .collect();
        let declared = |m: &[perf_spec::Metric]| thresholds.iter().any(|t| m.contains(&t.metric()));
        let mut defaults = Vec::new();
        if !declared(&[perf_spec::Metric::ErrorRate]) {
            defaults.push(Threshold::default_error_rate());
        }
        if load.is_open()
            && !declared(&[perf_spec::Metric::Dropped, perf_spec::Metric::DroppedRate])
        {
            defaults.push(Threshold::default_dropped_rate());
        }
        for t in defaults {
            // An implicit `error_rate <= 0` is about what happened (no
            // failure), which no interval can prove: the count decides.
            let counted = Judging {
                inconclusive: perf_spec::Inconclusive::Warn,
                ..judging
            };
            let mut implicit = t.evaluate_judged(counted, &whole, &main.timeline, complete);
            implicit.default = true;
            // Its interval is shown, but it decides nothing.
            implicit.decision = None;
            implicit.more_iterations = None;
            outcomes.push(implicit);
        }
        let tags = main
            .tags
            .iter()
            .map(|(tag, t)| {
                let iterations = t.latency.len();
                let stats = TagStats {
                    iterations,
                    errors: t.errors,
                    error_rate: if iterations == 0 {
                        0.0
                    } else {
                        t.errors as f64 / iterations as f64
                    },
                    latency: LatencyStats::of(&t.latency, &wanted),
                };
                (tag.clone(), stats)
            })
            .collect();
        let tag_histograms = main
            .tags
            .into_iter()
            .map(|(tag, t)| (tag, t.latency))
            .collect();
        let mut report = Report {
            schema_version: REPORT_SCHEMA_VERSION,
            name,
            package: None,
            load,
            started_at_unix_ms: m
                .started_at
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_millis() as u64),
            elapsed_ns: m.elapsed.as_nanos() as u64,
            iterations: main.iterations,
            errors: main.errors,
            timeouts: main.timeouts,
            panics: main.panics,
            saturated: main.saturated,
            dropped: main.dropped,
            error_rate: if main.iterations == 0 {
                0.0
            } else {
                main.errors as f64 / main.iterations as f64
            },
            dropped_rate: if scheduled == 0 {
                0.0
            } else {
                main.dropped as f64 / scheduled as f64
            },
            throughput: if secs > 0.0 {
                main.iterations as f64 / secs
            } else {
                0.0
            },
            latency: LatencyStats::of(&main.histogram, &wanted),
            service: main.service.as_ref().map(|h| LatencyStats::of(h, &wanted)),
            start_delay: main
                .start_delay
                .as_ref()
                .map(|h| LatencyStats::of(h, &wanted)),
            capacity: None,
            phases: crate::judge::phases::figures(&phases, &main.timeline),
            error_counts: main.error_counts,
            first_errors: main.first_errors,
            warmup: m.warmup.map(|w| WarmupStats {
                iterations: w.iterations,
                errors: w.errors,
            }),
            thresholds: outcomes,
            error_classes: main.classes,
            tags,
            custom,
            tag_histograms,
            memory: m.memory,
            baseline: None,
            timeline: {
                let mut points = main.timeline.points();
                crate::model::timeline::add_resources(&mut points, m.resources.as_ref());
                points
            },
            timed_out: m.timed_out,
            aborted: m.aborted,
            interrupted: m.interrupted,
            still_running: m.stopped,
            unscheduled: m.unscheduled,
            batching: m.batching,
            saturation: crate::model::resources::Saturation::of(
                m.resources.as_ref(),
                crate::model::resources::Schedule {
                    arrivals: scheduled + m.unscheduled,
                    unscheduled: m.unscheduled,
                    dropped: main.dropped,
                    pool,
                    serving: main
                        .service
                        .as_ref()
                        .filter(|_| secs > 0.0)
                        .map(|h| h.mean() * h.len() as f64 / 1e9 / secs),
                },
                secs,
            ),
            resources: m.resources,
            cpu_profile: m.cpu_profile,
            heap_profile: m.heap_profile,
            skipped: None,
            debug_build,
            passed: false,
            histogram: main.histogram,
            path: None,
            judging: nominal,
            shard,
            shard_result: None,
            runs: Vec::new(),
            calibration: None,
            auto: m.auto,
            overlapped: None,
            waited_ns: None,
            printed: false,
            expected_to_fail: false,
        };
        settle(&mut report);
        report
    }

    /// A report built from recorded data rather than a run: a latency
    /// histogram (every iteration, failed ones included), how many failed,
    /// and how long the run took. For tools and tests that need reports
    /// with known contents.
    pub fn from_parts(
        name: impl Into<String>,
        histogram: Histogram<u64>,
        errors: u64,
        elapsed: Duration,
    ) -> Report {
        let mut timeline = crate::model::timeline::Timeline::default();
        let mut second = crate::model::timeline::Second::new();
        second.add_histogram(&histogram);
        second.iterations = histogram.len();
        second.errors = errors;
        timeline.add(0, &second);
        let recorded = Recorded {
            iterations: histogram.len(),
            errors,
            timeline,
            histogram,
            ..Recorded::empty(false)
        };
        let measured = Measured::of(recorded, UNIX_EPOCH, elapsed);
        let load = LoadShape {
            stop: crate::model::load::Stop::Repeat(measured.main.iterations.max(1)),
            ..LoadShape::default()
        };
        Report::build(
            name.into(),
            load,
            measured,
            &[],
            false,
            Judging::default(),
            None,
        )
    }
}

/// Decides `report.passed`, the one place that does: the run ended on its
/// own (no timeout, signal or abort), every threshold held (a shard's
/// thresholds are judged on the merged result, so a shard defers them),
/// and the baseline comparison found no regression beyond its budget nor,
/// when a baseline is required, a missing one.
pub(crate) fn settle(report: &mut Report) {
    report.passed = verdict(report);
}

fn verdict(r: &Report) -> bool {
    let ran_out = !r.timed_out && !r.interrupted && r.aborted.is_none();
    let thresholds = r.shard.is_some() || r.thresholds.iter().all(|t| t.passed);
    let baseline = r
        .baseline
        .as_ref()
        .is_none_or(|b| b.holds_under(r.judging.inconclusive));
    ran_out && thresholds && baseline
}

/// Judging on hand-built measured data: no clock, no environment.
#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::baseline::{BaselineComparison, MetricComparison, Verdict};
    use crate::model::measured::new_histogram;
    use crate::model::shard::Shard;

    /// `iterations` iterations of `latency` each over 2 s, `errors` of
    /// them failed, `dropped` arrivals not run.
    fn measured(iterations: u64, latency: Duration, errors: u64, dropped: u64) -> Measured {
        let mut histogram = new_histogram();
        histogram
            .record_n(latency.as_nanos() as u64, iterations)
            .unwrap();
        let recorded = Recorded {
            iterations,
            errors,
            dropped,
            histogram,
            ..Recorded::empty(false)
        };
        Measured::of(recorded, UNIX_EPOCH, Duration::from_secs(2))
    }

    fn judged(
        m: Measured,
        load: LoadShape,
        thresholds: &[Threshold],
        shard: Option<Shard>,
    ) -> Report {
        Report::build(
            "judge::t".into(),
            load,
            m,
            thresholds,
            false,
            Judging::default(),
            shard,
        )
    }

    fn closed() -> LoadShape {
        LoadShape::default()
    }

    fn open() -> LoadShape {
        LoadShape {
            rate: Some(50.0),
            ..LoadShape::default()
        }
    }

    #[test]
    fn every_threshold_is_evaluated_and_the_failure_names_the_broken_ones() {
        let ten_ms = measured(10, Duration::from_millis(10), 0, 0);
        let report = judged(
            ten_ms,
            closed(),
            &[
                Threshold::p(50.0).lt(Duration::from_millis(1)),
                Threshold::mean().lt(Duration::from_secs(10)),
                Threshold::p(99.0).lt(Duration::from_millis(2)),
                Threshold::max().lt(Duration::from_secs(20)),
                Threshold::error_rate().le(0.0),
            ],
            None,
        );
        let verdicts: Vec<(&str, bool)> = report
            .thresholds
            .iter()
            .map(|t| (t.metric.as_str(), t.passed))
            .collect();
        assert_eq!(
            verdicts,
            [
                ("p50", false),
                ("mean", true),
                ("p99", false),
                ("max", true),
                ("error_rate", true)
            ]
        );
        assert!(!report.passed);
        let message = crate::output::summary::failure(&report);
        assert!(message.contains("2 of 5 thresholds broken"), "{message}");
        assert!(
            message.contains("✗ p50: observed 10ms") && message.contains("(limit < 1ms)"),
            "{message}"
        );
        assert!(message.contains("(limit < 2ms)"), "{message}");
        assert!(!message.contains("✗ mean"), "{message}");
        assert!(message.contains("✓ mean < 10s"), "{message}");
    }

    #[test]
    fn observed_values_are_the_reports_figures() {
        let report = judged(
            measured(20, Duration::from_millis(2), 0, 0),
            closed(),
            &[
                Threshold::p(95.0).lt(Duration::from_secs(1)),
                Threshold::throughput().ge(1.0),
            ],
            None,
        );
        assert_eq!(
            report.thresholds[0].observed,
            Some(report.percentile(95.0).as_nanos() as f64)
        );
        assert_eq!(report.thresholds[1].observed, Some(report.throughput));
        assert_eq!(report.throughput, 10.0, "20 iterations in 2 s");
        assert!(report.passed);
    }

    #[test]
    fn a_test_without_an_error_rate_threshold_fails_on_any_error() {
        let t = [Threshold::p(95.0).lt(Duration::from_secs(1))];
        let clean = judged(
            measured(100, Duration::from_millis(1), 0, 0),
            closed(),
            &t,
            None,
        );
        assert!(clean.passed);
        let implicit: Vec<_> = clean.thresholds.iter().filter(|o| o.default).collect();
        assert_eq!(implicit.len(), 1, "{:?}", clean.thresholds);
        assert_eq!(implicit[0].threshold, "error_rate <= 0");

        let one_error = judged(
            measured(100, Duration::from_millis(1), 1, 0),
            closed(),
            &t,
            None,
        );
        assert!(!one_error.passed);
        // A declared error rate replaces the default.
        let allowed = [Threshold::error_rate().lt(0.05)];
        let declared = judged(
            measured(100, Duration::from_millis(1), 1, 0),
            closed(),
            &allowed,
            None,
        );
        assert!(declared.passed);
        assert!(declared.thresholds.iter().all(|o| !o.default));
    }

    #[test]
    fn an_open_model_test_fails_when_it_could_not_generate_its_load() {
        let m = |dropped| measured(99, Duration::from_millis(1), 0, dropped);
        // 1% of the arrivals dropped: the default `dropped_rate < 0.01` breaks.
        let dropped = judged(m(1), open(), &[], None);
        assert!(!dropped.passed);
        let broken: Vec<_> = dropped.failed_thresholds().map(|o| &o.threshold).collect();
        assert_eq!(broken, ["dropped_rate < 0.01"]);
        assert!(judged(m(0), open(), &[], None).passed);
        // A closed-model test has no dropped arrivals to judge.
        let closed_run = judged(m(1), closed(), &[], None);
        assert!(closed_run
            .thresholds
            .iter()
            .all(|o| o.metric != "dropped_rate"));
        // A declared `dropped` threshold replaces the default.
        let lenient = [Threshold::dropped().le(5)];
        let declared = judged(m(1), open(), &lenient, None);
        assert!(declared.passed, "{:?}", declared.thresholds);
        assert!(declared
            .thresholds
            .iter()
            .all(|o| !o.default || o.metric == "error_rate"));
    }

    #[test]
    fn a_shard_defers_its_thresholds_to_the_merge_but_not_its_own_failures() {
        let t = [Threshold::p(50.0).lt(Duration::from_millis(1))];
        let shard = Shard::new(2, 4).unwrap();
        let slow = || measured(10, Duration::from_millis(10), 0, 0);
        let single = judged(slow(), closed(), &t, None);
        assert!(!single.passed);
        let as_shard = judged(slow(), closed(), &t, Some(shard));
        assert!(as_shard.passed, "the merge judges the thresholds");
        assert!(!as_shard.thresholds[0].passed, "the outcome is still shown");
        let mut timed_out = slow();
        timed_out.timed_out = true;
        assert!(!judged(timed_out, closed(), &t, Some(shard)).passed);
        let mut interrupted = slow();
        interrupted.interrupted = true;
        assert!(!judged(interrupted, closed(), &t, Some(shard)).passed);
    }

    fn comparison(verdict: Verdict, missing: bool, required: bool) -> BaselineComparison {
        BaselineComparison {
            version: "v1".into(),
            path: "v1/judge/t.json".into(),
            missing: missing.then(|| "no baseline v1".to_owned()),
            metrics: vec![MetricComparison {
                metric: "p95".into(),
                old: 1e6,
                new: 1.5e6,
                delta: 0.5,
                p_value: Some(0.001),
                need_more: None,
                interval: Some([0.3, 0.7]),
                level: None,
                runs: [5, 1],
                budget: Some(0.1),
                verdict,
                reason: None,
                p_beyond_budget: Some(0.0001),
            }],
            machine: None,
            required,
        }
    }

    #[test]
    fn the_baseline_comparison_enters_the_one_verdict() {
        let with = |c: BaselineComparison| {
            let mut r = judged(
                measured(10, Duration::from_millis(1), 0, 0),
                closed(),
                &[],
                None,
            );
            assert!(r.passed);
            r.baseline = Some(c);
            settle(&mut r);
            r.passed
        };
        assert!(!with(comparison(Verdict::Regressed, false, false)));
        assert!(with(comparison(Verdict::WorseWithinBudget, false, false)));
        assert!(with(comparison(Verdict::Inconclusive, false, false)));
        assert!(
            with(comparison(Verdict::Unchanged, true, false)),
            "missing, not required"
        );
        assert!(
            !with(comparison(Verdict::Unchanged, true, true)),
            "missing and required"
        );
    }

    #[test]
    fn an_undecided_regression_follows_the_inconclusive_policy() {
        use perf_spec::Inconclusive as P;
        let under = |policy: P, verdict: Verdict| {
            let mut r = judged(
                measured(10, Duration::from_millis(1), 0, 0),
                closed(),
                &[],
                None,
            );
            r.judging.inconclusive = policy;
            let mut c = comparison(verdict, false, false);
            c.metrics[0].reason = Some("one run on each side".into());
            r.baseline = Some(c);
            settle(&mut r);
            r
        };
        assert!(under(P::Warn, Verdict::Inconclusive).passed);
        assert!(under(P::Pass, Verdict::Inconclusive).passed);
        let failed = under(P::Fail, Verdict::Inconclusive);
        assert!(!failed.passed);
        let text = crate::output::summary::failure(&failed);
        assert!(
            text.contains("1 metric inconclusive against baseline v1 (inconclusive = \"fail\"):")
                && text.contains("✗ p95 regression undecided: +50.0% [+30.0%, +70.0%] (1ms → 1.5ms, budget 10%): one run on each side"),
            "{text}"
        );
        // A decided row is not touched by the policy; nor is an ungated one.
        assert!(under(P::Fail, Verdict::WorseWithinBudget).passed);
        let mut ungated = under(P::Fail, Verdict::Inconclusive);
        ungated.baseline.as_mut().unwrap().metrics[0].budget = None;
        settle(&mut ungated);
        assert!(ungated.passed);
    }
}
