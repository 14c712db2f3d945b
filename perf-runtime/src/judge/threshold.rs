//! Thresholds evaluated: on a whole run, on a run so far (`abort_on_fail`),
//! on one tag, and on every full window of the timeline, with the observed
//! value shown to as many digits as it takes to tell it from its limit.

use perf_spec::{Metric, Stat};

use crate::judge::figures::Figures;
use crate::judge::interval::{self, interval_of, judge_interval};
use crate::judge::shown::{custom_mismatch, display};
use crate::model::report::{percentile_ns, Report};
use crate::model::threshold::{Decision, Judging, Threshold, ThresholdOutcome, WindowVerdict};
use crate::model::timeline::Timeline;

impl Threshold {
    /// `Some(observed value, for people)` if the threshold is broken on
    /// these figures.
    #[cfg(test)]
    pub(crate) fn check(&self, figures: &Figures<'_>) -> Option<String> {
        match observe(self.0.metric, figures) {
            None => Some("no data".to_owned()),
            Some(_) => self.check_so_far(figures),
        }
    }

    /// Like [`check`](Self::check) on a run still going on: a figure with no
    /// data yet (no iteration finished, so no error rate or latency) is not
    /// broken, only not known. `abort_on_fail` uses it.
    pub(crate) fn check_so_far(&self, figures: &Figures<'_>) -> Option<String> {
        let observed = observe(self.0.metric, figures)?;
        (!self.0.op.holds(observed, self.0.limit))
            .then(|| display(self.0.metric, observed, self.0.limit, figures))
    }

    /// Checks this threshold against a report's whole-run figures (a
    /// per-window threshold needs the run's timeline, which only the run
    /// itself has: it reports "no full window" here).
    pub fn evaluate_report(&self, report: &Report) -> ThresholdOutcome {
        if let Some(tag) = self.0.tag {
            let Some(t) = report.tag_histograms.get(tag) else {
                return self.evaluate_judged(
                    report.judged_at(),
                    &Figures::empty(),
                    &Timeline::default(),
                    0,
                );
            };
            // A report read from JSON has no tag histograms: no data.
            let errors = report.tags.get(tag).map_or(0, |s| s.errors);
            let figures = Figures::tagged(t, errors, report.elapsed().as_secs_f64());
            return self.evaluate_judged(report.judged_at(), &figures, &Timeline::default(), 0);
        }
        let figures = Figures {
            memory: report.memory.as_ref(),
            classes: Some(&report.error_classes),
            custom: Some(&report.custom),
            resources: report.resources.as_ref(),
            iterations: report.iterations,
            errors: report.errors,
            dropped: report.dropped,
            seconds: report.elapsed().as_secs_f64(),
            latency: &report.histogram,
        };
        self.evaluate_judged(report.judged_at(), &figures, &Timeline::default(), 0)
    }

    /// [`evaluate_judged`](Self::evaluate_judged) at the default
    /// confidence and policy.
    #[cfg(test)]
    pub(crate) fn evaluate(
        &self,
        whole: &Figures<'_>,
        timeline: &Timeline,
        complete_seconds: u32,
    ) -> ThresholdOutcome {
        self.evaluate_judged(Judging::default(), whole, timeline, complete_seconds)
    }

    /// Checks this threshold against a whole run: over the run, or over
    /// every full window of its timeline, with intervals at `judging`'s
    /// confidence and its policy for inconclusive verdicts.
    pub(crate) fn evaluate_judged(
        &self,
        judging: Judging,
        whole: &Figures<'_>,
        timeline: &Timeline,
        complete_seconds: u32,
    ) -> ThresholdOutcome {
        let spec = self.0;
        let mut outcome = ThresholdOutcome::unjudged(&spec);
        if spec.phase.is_some() {
            // `crate::judge::phases` judges it, on the run's timeline.
            outcome.observed_display =
                "judged on the run's phases, which this report's figures do not hold".into();
            return outcome;
        }
        if let (Some(w), Metric::Cpu(_)) = (self.window_seconds(), spec.metric) {
            let (verdict, worst) = crate::judge::resources::cpu_windows(&spec, w, whole);
            return windows_outcome(outcome, verdict, worst, complete_seconds);
        }
        let Some(w) = self.window_seconds() else {
            outcome.observed = observe(spec.metric, whole);
            if let Some(v) = outcome.observed {
                outcome.observed_display = display(spec.metric, v, spec.limit, whole);
                let d = crate::judge::blocks::design_effect(
                    spec.metric,
                    whole,
                    timeline,
                    complete_seconds,
                    judging.confidence,
                );
                judge_interval(&mut outcome, spec, whole, v, judging.confidence, d);
                if let Some(why) = leak_unknown(spec.metric, whole) {
                    outcome.decision = Some(Decision::Inconclusive);
                    outcome.observed_display = why;
                }
                outcome.passed = judging.holds(spec.op.holds(v, spec.limit), outcome.decision);
            } else if spec.metric.is_resource() {
                outcome.observed_display = crate::judge::resources::missing(spec.metric, whole);
            } else if let Some(why) = custom_mismatch(spec.metric, whole) {
                outcome.observed_display = why;
            }
            return outcome;
        };
        // The worst window decides; every broken one is counted.
        let mut verdict = WindowVerdict::new(w);
        let mut worst: Option<(f64, String)> = None;
        for window in timeline.windows(w, complete_seconds) {
            let figures = window.figures();
            verdict.checked += 1;
            let Some(v) = observe(spec.metric, &figures) else {
                continue;
            };
            // A window breaks when its own interval is beyond the limit; one
            // whose interval holds the limit (too few samples to tell) is
            // inconclusive, and breaks only under `inconclusive = "fail"`.
            let point = spec.op.holds(v, spec.limit);
            let decision = interval_of(spec.metric, &figures, judging.confidence)
                .map(|iv| interval::decide(iv, |x| spec.op.holds(x, spec.limit)));
            if decision == Some(Decision::Inconclusive) {
                verdict.inconclusive += 1;
            }
            let holds = match decision {
                Some(Decision::Inconclusive) => {
                    judging.inconclusive != perf_spec::Inconclusive::Fail
                }
                _ => judging.holds(point, decision),
            };
            if !holds {
                verdict.broken += 1;
                verdict.first_broken_start.get_or_insert(window.start);
            }
            let worse = worst.as_ref().is_none_or(|(best, _)| {
                if spec.op.is_upper_bound() {
                    v > *best
                } else {
                    v < *best
                }
            });
            if worse {
                worst = Some((v, display(spec.metric, v, spec.limit, &figures)));
                verdict.worst_start = Some(window.start);
            }
        }
        windows_outcome(outcome, verdict, worst, complete_seconds)
    }
}

/// Why a leak threshold cannot be judged on these figures: the run had too
/// few checkpoints to fit a line. (Its observation, "no leak", is only the
/// absence of evidence; the `inconclusive` policy decides.)
fn leak_unknown(metric: Metric, f: &Figures<'_>) -> Option<String> {
    let leak = &f.memory?.leak;
    (matches!(metric, Metric::Leaks | Metric::LeakPerIter) && leak.inconclusive).then(|| {
        format!(
            "too few leak checkpoints to tell ({} after warm-up, {} needed): inconclusive, run more iterations",
            leak.checkpoints,
            crate::model::memory::MIN_LEAK_CHECKPOINTS
        )
    })
}

/// A per-window threshold's outcome: the worst window decides the figure,
/// and any broken one fails it.
fn windows_outcome(
    mut outcome: ThresholdOutcome,
    verdict: WindowVerdict,
    worst: Option<(f64, String)>,
    complete_seconds: u32,
) -> ThresholdOutcome {
    let w = verdict.seconds;
    if verdict.checked == 0 {
        outcome.observed_display =
            format!("no full {w}s window: the run lasted {complete_seconds}s");
    } else if let Some((v, text)) = worst {
        let start = verdict.worst_start.unwrap_or_default();
        outcome.observed = Some(v);
        let unsure = if verdict.inconclusive > 0 {
            format!(
                " ({} inconclusive: too few samples to tell)",
                verdict.inconclusive
            )
        } else {
            String::new()
        };
        outcome.observed_display = format!(
            "worst {text} in {start}s–{}s; {} of {} windows broken{unsure}",
            start + w,
            verdict.broken,
            verdict.checked
        );
        outcome.passed = verdict.broken == 0;
    }
    outcome.windows = Some(verdict);
    outcome
}

/// A `checks` threshold's evaluations: (passed, evaluated), from the
/// count metric its checks were recorded in (1 passed, 0 failed).
pub(crate) fn checks(metric: Metric, f: &Figures<'_>) -> Option<(u64, u64)> {
    let c = match metric {
        Metric::Checks(None) => f.custom?.get(perf_spec::CHECKS_METRIC)?,
        Metric::Checks(Some(name)) => f.custom?.get(&perf_spec::check_metric(name))?,
        _ => return None,
    };
    Some((c.sum.round().max(0.0) as u64, c.count))
}

pub(crate) fn observe(metric: Metric, f: &Figures<'_>) -> Option<f64> {
    let scheduled = f.iterations + f.dropped;
    match metric {
        Metric::Cpu(_) | Metric::PeakRss(_) => crate::judge::resources::observe(metric, f),
        Metric::PeakHeap => f.memory.map(|m| m.peak_live_bytes as f64),
        Metric::AllocsPerIter => f.memory.map(|m| m.allocs_per_iter),
        Metric::BytesPerIter => f.memory.map(|m| m.bytes_per_iter),
        Metric::Leaks => f.memory.map(|m| f64::from(u8::from(m.leak.detected))),
        Metric::LeakPerIter => f.memory.map(|m| m.leak.bytes_per_iter),
        Metric::ClassRate(class) => {
            let failed = f.classes?.get(class).copied().unwrap_or(0);
            (f.iterations > 0).then(|| failed as f64 / f.iterations as f64)
        }
        // Judged on a search's answer (`crate::judge::capacity`), never
        // on a run's figures.
        Metric::Capacity => None,
        // Judged on the phases (`crate::judge::phases`).
        Metric::Recovery(_) => None,
        Metric::Checks(_) => {
            let (passed, count) = checks(metric, f)?;
            (count > 0).then(|| passed as f64 / count as f64)
        }
        Metric::Custom {
            name,
            stat,
            duration,
        } => {
            let c = f.custom?.get(name)?;
            // A duration limit on a number metric (or the reverse) has no
            // observation in the limit's unit.
            if stat != Stat::Count && duration != (c.kind == "duration") {
                return None;
            }
            match stat {
                Stat::Mean => Some(c.mean),
                Stat::Min => Some(c.min),
                Stat::Max => Some(c.max),
                Stat::Sum => Some(c.sum),
                Stat::Count => Some(c.count as f64),
                Stat::Percentile(p) => c
                    .percentiles
                    .iter()
                    .find(|v| v.percentile == p.value())
                    .map(|v| v.value_ns as f64),
            }
        }
        Metric::ErrorRate => (f.iterations > 0).then(|| f.errors as f64 / f.iterations as f64),
        Metric::DroppedRate => (scheduled > 0).then(|| f.dropped as f64 / scheduled as f64),
        Metric::Dropped => Some(f.dropped as f64),
        Metric::Throughput => (f.seconds > 0.0).then(|| f.iterations as f64 / f.seconds),
        _ if f.latency.is_empty() => None,
        Metric::Mean => Some(f.latency.mean()),
        Metric::Min => Some(f.latency.min() as f64),
        Metric::Max => Some(f.latency.max() as f64),
        Metric::Percentile(p) => Some(percentile_ns(f.latency, p.value()) as f64),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_figure_never_reads_as_its_limit_when_it_is_not() {
        use crate::judge::shown::precise;
        let cases = [
            (Metric::BytesPerIter, 64.032, 64.0, "64.03 B"),
            (Metric::BytesPerIter, 63.0, 64.0, "63 B"),
            (
                Metric::Percentile(perf_spec::Percentile::new(95.0).unwrap()),
                200_040_000.0,
                200e6,
                "200.04ms",
            ),
            (Metric::ErrorRate, 0.01004, 0.01, "0.01004"),
            (Metric::AllocsPerIter, 1.001, 1.0, "1.001"),
            (Metric::AllocsPerIter, 3.0, 1.0, "3.00"),
            (Metric::Leaks, 1.0, 0.0, "1"),
        ];
        for (metric, v, limit, want) in cases {
            let shown = precise(metric.kind(), metric, v, limit);
            assert_eq!(shown, want, "{metric}");
        }
    }

    #[test]
    fn no_data_yet_is_not_broken_so_far_but_fails_a_finished_run() {
        let none = Figures::empty();
        for t in [
            Threshold::error_rate().lt(0.1),
            Threshold::p(95.0).lt(Duration::from_secs(3600)),
            Threshold::mean().lt(Duration::from_millis(1)),
        ] {
            assert_eq!(t.check_so_far(&none), None, "{t}");
            assert_eq!(t.check(&none).as_deref(), Some("no data"), "{t}");
        }
        // With data, a broken threshold is broken so far too.
        let mut h = crate::model::measured::new_histogram();
        h.record(5_000_000).unwrap();
        let some = Figures {
            iterations: 1,
            errors: 1,
            seconds: 1.0,
            latency: &h,
            ..Figures::empty()
        };
        assert!(Threshold::error_rate()
            .lt(0.1)
            .check_so_far(&some)
            .is_some());
        assert!(Threshold::mean()
            .lt(Duration::from_millis(1))
            .check_so_far(&some)
            .is_some());
        assert!(Threshold::p(95.0)
            .lt(Duration::from_secs(1))
            .check_so_far(&some)
            .is_none());
    }

    /// Whole-run figures of a synthetic run: 1,000 iterations over 2 s,
    /// latencies 1..=1000 µs, 20 failed (5 throttled), 10 dropped, memory
    /// and a custom duration metric.
    struct Synthetic {
        latency: hdrhistogram::Histogram<u64>,
        memory: crate::model::memory::MemoryStats,
        classes: std::collections::BTreeMap<String, u64>,
        custom: std::collections::BTreeMap<String, crate::model::report::CustomStats>,
    }

    impl Synthetic {
        fn new() -> Synthetic {
            let mut latency = crate::model::measured::new_histogram();
            for us in 1..=1000u64 {
                latency.record(us * 1000).unwrap();
            }
            let memory = crate::model::memory::MemoryStats {
                allocations: 3000,
                deallocations: 3000,
                bytes_allocated: 64_000,
                allocs_per_iter: 3.0,
                bytes_per_iter: 64.0,
                peak_live_bytes: 2_000_000,
                live_bytes_at_end: 0,
                leak: crate::model::memory::LeakVerdict {
                    detected: false,
                    bytes_per_iter: 0.5,
                    r_squared: 0.1,
                    checkpoints: 100,
                    inconclusive: false,
                },
            };
            let db = crate::model::report::CustomStats {
                kind: "duration".into(),
                count: 1000,
                sum: 5e9,
                min: 1e6,
                max: 9e6,
                mean: 5e6,
                percentiles: vec![crate::model::report::PercentileValue {
                    percentile: 95.0,
                    value_ns: 8_000_000,
                }],
                stdev: None,
                histogram: None,
            };
            Synthetic {
                latency,
                memory,
                classes: [("throttle".to_owned(), 5)].into(),
                custom: [("db".to_owned(), db)].into(),
            }
        }

        fn figures(&self) -> Figures<'_> {
            Figures {
                memory: Some(&self.memory),
                classes: Some(&self.classes),
                custom: Some(&self.custom),
                resources: None,
                iterations: 1000,
                errors: 20,
                dropped: 10,
                seconds: 2.0,
                latency: &self.latency,
            }
        }
    }

    fn verdict(t: Threshold, f: &Figures<'_>) -> (bool, Option<f64>) {
        let o = t.evaluate(f, &Timeline::default(), 0);
        (o.passed, o.observed)
    }

    #[test]
    fn every_metric_kind_is_judged_on_its_own_figure() {
        let run = Synthetic::new();
        let f = run.figures();
        let ms = Duration::from_millis;
        // (threshold that holds, threshold that breaks, the observed value)
        let cases: Vec<(Threshold, Threshold, f64)> = vec![
            (
                Threshold::mean().lt(ms(1)),
                Threshold::mean().lt(ms(0)),
                500_500.0,
            ),
            (
                Threshold::min().le(Duration::from_micros(1)),
                Threshold::min().lt(Duration::from_nanos(500)),
                1000.0,
            ),
            (
                Threshold::p(95.0).lt(ms(1)),
                Threshold::p(95.0).lt(Duration::from_micros(900)),
                950_000.0,
            ),
            (
                Threshold::error_rate().lt(0.05),
                Threshold::error_rate().lt(0.01),
                0.02,
            ),
            (
                Threshold::class_rate("throttle").lt(0.01),
                Threshold::class_rate("throttle").lt(0.001),
                0.005,
            ),
            (
                Threshold::throughput().ge(400.0),
                Threshold::throughput().ge(600.0),
                500.0,
            ),
            (
                Threshold::dropped().le(10),
                Threshold::dropped().lt(10),
                10.0,
            ),
            (
                Threshold::dropped_rate().lt(0.01),
                Threshold::dropped_rate().lt(0.005),
                10.0 / 1010.0,
            ),
            (
                Threshold::peak_heap().lt(3_000_000),
                Threshold::peak_heap().lt(1_000_000),
                2e6,
            ),
            (
                Threshold::allocs_per_iter().le(3.0),
                Threshold::allocs_per_iter().lt(3.0),
                3.0,
            ),
            (
                Threshold::bytes_per_iter().le(64),
                Threshold::bytes_per_iter().lt(64),
                64.0,
            ),
            (
                Threshold::leak_per_iter().lt(1),
                Threshold::leak_per_iter().lt(0),
                0.5,
            ),
            (
                Threshold::of("db").p(95.0).lt_duration(ms(9)),
                Threshold::of("db").p(95.0).lt_duration(ms(7)),
                8e6,
            ),
            (
                Threshold::of("db").count().ge(1000.0),
                Threshold::of("db").count().gt(1000.0),
                1000.0,
            ),
        ];
        for (holds, breaks, observed) in cases {
            let (ok, v) = verdict(holds, &f);
            assert!(ok, "{holds} should hold");
            let v = v.expect("observed");
            assert!(
                (v - observed).abs() <= observed.abs() * 0.002 + 1e-9,
                "{holds}: {v} != {observed}"
            );
            assert!(!verdict(breaks, &f).0, "{breaks} should break");
        }
        assert!(verdict(Threshold::no_leaks(), &f).0);
        // A figure the run does not have is no data, and fails.
        let none = Figures {
            memory: None,
            custom: None,
            ..run.figures()
        };
        assert_eq!(
            verdict(Threshold::peak_heap().lt(1_000_000_000), &none),
            (false, None)
        );
        assert_eq!(
            verdict(Threshold::of("db").mean().lt(1.0), &none),
            (false, None)
        );
    }

    #[test]
    fn a_leak_verdict_from_too_few_checkpoints_is_inconclusive_not_no_leak() {
        let mut run = Synthetic::new();
        // Two iterations, each keeping 35 MiB: no line can be fitted.
        run.memory.leak = crate::judge::leak::detect_leak(&[(1, 35 << 20), (2, 70 << 20)]);
        let f = run.figures();
        for t in [Threshold::no_leaks(), Threshold::leak_per_iter().lt(64)] {
            let o = t.evaluate(&f, &Timeline::default(), 0);
            assert_eq!(o.decision, Some(Decision::Inconclusive), "{t}");
            assert!(
                o.observed_display
                    .contains("(2 after warm-up, 8 needed): inconclusive"),
                "{t}: {}",
                o.observed_display
            );
            let fail = Judging {
                inconclusive: perf_spec::Inconclusive::Fail,
                ..Judging::default()
            };
            assert!(!t.evaluate_judged(fail, &f, &Timeline::default(), 0).passed);
        }
        // With enough checkpoints the verdict is a verdict.
        run.memory.leak.inconclusive = false;
        let o = Threshold::no_leaks().evaluate(&run.figures(), &Timeline::default(), 0);
        assert_ne!(o.decision, Some(Decision::Inconclusive));
        assert!(o.passed);
    }

    #[test]
    fn a_window_threshold_breaks_in_the_windows_beyond_the_limit_only() {
        let mut timeline = Timeline::default();
        // Ten seconds of 1 ms iterations; second 6 is slow (50 ms).
        for sec in 0..10u32 {
            let latency = if sec == 6 { 50_000_000 } else { 1_000_000 };
            for _ in 0..20 {
                timeline.second_mut(sec).record(latency, false);
            }
        }
        let h = crate::model::measured::new_histogram();
        let whole = Figures {
            iterations: 200,
            seconds: 10.0,
            latency: &h,
            ..Figures::empty()
        };
        let t = Threshold::p(99.0).lt(Duration::from_millis(10)).per(2);
        let o = t.evaluate(&whole, &timeline, 10);
        let w = o.windows.as_ref().unwrap();
        assert!(!o.passed);
        // Windows [5,7) and [6,8) hold second 6.
        assert_eq!((w.checked, w.broken, w.first_broken_start), (9, 2, Some(5)));
        assert!(
            o.observed_display.contains("2 of 9 windows broken"),
            "{}",
            o.observed_display
        );
        // Shorter than one window: not judged, and said so.
        let o = t.evaluate(&whole, &timeline, 1);
        assert!(
            !o.passed && o.observed_display.contains("no full 2s window"),
            "{}",
            o.observed_display
        );
    }
}
