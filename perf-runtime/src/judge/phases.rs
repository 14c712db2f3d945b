//! Thresholds on phases: `p95 in "peak" < "300ms"` (the metric over the
//! phase's seconds), `mean in "peak" < 1.5 * "baseline"` (a factor of the
//! same metric in another phase) and `recovery in "peak" < "60s"` (how
//! long the per-second percentile took to come back within its limit and
//! stay there); and each phase's figures for the report.

use std::time::Duration;

use perf_spec::{format_duration, Metric, Phase, RECOVERY_HOLD};

use crate::judge::interval::judge_interval;
use crate::judge::shown::display;
use crate::judge::threshold::observe;
use crate::model::load::LoadShape;
use crate::model::phase::PhaseFigures;
use crate::model::report::percentile_ns;
use crate::model::threshold::{Judging, Threshold, ThresholdOutcome};
use crate::model::timeline::{Timeline, Window};

/// A phase in whole seconds of the timeline: `[start, end)`, clipped to
/// the seconds the run completed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Span {
    pub(crate) name: &'static str,
    pub(crate) start: u32,
    pub(crate) end: u32,
}

impl Span {
    fn window(&self, timeline: &Timeline) -> Window {
        timeline.window(self.start, self.end.saturating_sub(self.start))
    }
}

/// The phases of `load`'s stages, in whole seconds (rounded) up to the
/// run's `seconds`.
pub(crate) fn spans(load: &LoadShape, seconds: u32) -> Vec<Span> {
    let secs = |d: Duration| (d.as_secs_f64().round() as u32).min(seconds);
    perf_spec::phases(&load.stages)
        .unwrap_or_default()
        .iter()
        .map(|p: &Phase| Span {
            name: p.name,
            start: secs(p.start),
            end: secs(p.end),
        })
        .collect()
}

/// Each phase's figures, for the report.
pub(crate) fn figures(spans: &[Span], timeline: &Timeline) -> Vec<PhaseFigures> {
    spans
        .iter()
        .map(|s| {
            let w = s.window(timeline);
            let seconds = f64::from(s.end - s.start);
            let h = &w.latency;
            let p = |q: f64| if h.is_empty() { 0 } else { percentile_ns(h, q) };
            PhaseFigures {
                name: s.name.to_owned(),
                start_s: s.start,
                end_s: s.end,
                iterations: w.iterations,
                errors: w.errors,
                error_rate: if w.iterations > 0 {
                    w.errors as f64 / w.iterations as f64
                } else {
                    0.0
                },
                dropped: w.dropped,
                throughput: if seconds > 0.0 {
                    w.iterations as f64 / seconds
                } else {
                    0.0
                },
                mean_ns: if h.is_empty() { 0 } else { h.mean() as u64 },
                p50_ns: p(50.0),
                p95_ns: p(95.0),
                p99_ns: p(99.0),
                max_ns: if h.is_empty() { 0 } else { h.max() },
            }
        })
        .collect()
}

/// The outcome of `t`, a threshold `in` a phase, over `spans` of
/// `timeline`; `all` are the test's thresholds (a recovery's limit is
/// among them).
pub(crate) fn evaluate(
    t: &Threshold,
    judging: Judging,
    spans: &[Span],
    timeline: &Timeline,
    all: &[Threshold],
) -> ThresholdOutcome {
    let spec = t.0;
    let mut outcome = ThresholdOutcome::unjudged(&spec);
    let find = |name: Option<&str>| spans.iter().find(|s| Some(s.name) == name);
    let Some(span) = find(spec.phase) else {
        outcome.observed_display = missing(spec.phase.unwrap_or_default(), spans);
        return outcome;
    };
    if let Metric::Recovery(p) = spec.metric {
        let specs: Vec<_> = all.iter().map(|t| t.0).collect();
        let Some(limit) = perf_spec::recovery_limit(&specs, Metric::Percentile(p), Some(span.name))
        else {
            outcome.observed_display = format!(
                "no limit on p{} to recover within: add `p{} < …`",
                p.value(),
                p.value()
            );
            return outcome;
        };
        let per_second: Vec<Option<u64>> = (span.start..span.end)
            .map(|sec| {
                let w = timeline.window(sec, 1);
                (!w.latency.is_empty()).then(|| percentile_ns(&w.latency, p.value()))
            })
            .collect();
        let hold = RECOVERY_HOLD.as_secs() as u32;
        match recovery(&per_second, limit as u64, hold) {
            Some(secs) => {
                let took = Duration::from_secs(u64::from(secs));
                outcome.observed = Some(took.as_nanos() as f64);
                outcome.passed = spec.op.holds(took.as_nanos() as f64, spec.limit);
                outcome.observed_display = format!(
                    "{} (p{} back under {} from second {} of the phase)",
                    format_duration(took),
                    p.value(),
                    format_duration(Duration::from_nanos(limit as u64)),
                    secs
                );
            }
            None => {
                outcome.observed_display = format!(
                    "never recovered in {}: p{} stayed over {}",
                    format_duration(Duration::from_secs(u64::from(span.end - span.start))),
                    p.value(),
                    format_duration(Duration::from_nanos(limit as u64)),
                );
            }
        }
        return outcome;
    }
    let window = span.window(timeline);
    let figures = window.figures();
    let Some(v) = observe(spec.metric, &figures) else {
        outcome.observed_display = format!("no iterations in phase {:?}", span.name);
        return outcome;
    };
    outcome.observed = Some(v);
    match spec.relative_to {
        Some(other) => {
            let Some(base_span) = find(Some(other)) else {
                outcome.observed_display = missing(other, spans);
                return outcome;
            };
            let base_window = base_span.window(timeline);
            let base_figures = base_window.figures();
            let Some(base) = observe(spec.metric, &base_figures) else {
                outcome.observed_display = format!(
                    "{}; no iterations in phase {other:?}",
                    shown(spec.metric, v)
                );
                return outcome;
            };
            let limit = spec.limit * base;
            outcome.passed = spec.op.holds(v, limit);
            outcome.observed_display = format!(
                "{} against {} × {other:?}'s {} = {}",
                shown(spec.metric, v),
                spec.limit,
                shown(spec.metric, base),
                shown(spec.metric, limit),
            );
        }
        None => {
            outcome.observed_display = display(spec.metric, v, spec.limit, &figures);
            judge_interval(&mut outcome, spec, &figures, v, judging.confidence, None);
            outcome.passed = judging.holds(spec.op.holds(v, spec.limit), outcome.decision);
        }
    }
    outcome
}

fn shown(metric: Metric, v: f64) -> String {
    crate::judge::shown::precise(metric.kind(), metric, v, f64::NAN)
}

fn missing(name: &str, spans: &[Span]) -> String {
    let names: Vec<&str> = spans.iter().map(|s| s.name).collect();
    perf_spec::unknown_phase(name, &names)
}

/// The first second (from the phase's start) from which every second's
/// figure is within `limit` for `hold` seconds or to the phase's end,
/// whichever is first. A second without iterations is not within: nothing
/// came back. `None`: never.
pub(crate) fn recovery(per_second: &[Option<u64>], limit: u64, hold: u32) -> Option<u32> {
    let within = |s: &Option<u64>| s.is_some_and(|v| v <= limit);
    (0..per_second.len()).find_map(|i| {
        let until = (i + hold as usize).min(per_second.len());
        per_second[i..until].iter().all(within).then_some(i as u32)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recovery_is_the_first_second_that_stays_within() {
        let ms = |v: u64| Some(v * 1_000_000);
        let s = [
            ms(900),
            ms(400),
            ms(150),
            ms(250),
            ms(150),
            ms(150),
            ms(150),
        ];
        // Second 2 goes back over at 3; from 4 on it stays.
        assert_eq!(recovery(&s, 200_000_000, 10), Some(4));
        // A hold of 1 second: the first second within.
        assert_eq!(recovery(&s, 200_000_000, 1), Some(2));
        // Never.
        assert_eq!(recovery(&[ms(900), ms(800)], 200_000_000, 10), None);
        // At once.
        assert_eq!(recovery(&[ms(10), ms(10)], 200_000_000, 10), Some(0));
        // An empty second is not within.
        assert_eq!(recovery(&[ms(10), None, ms(10)], 200_000_000, 10), Some(2));
        assert_eq!(recovery(&[], 200_000_000, 10), None);
    }
}

#[cfg(test)]
mod judged {
    use super::*;
    use perf_spec::Op;

    /// Phase "base" is seconds 0–5 at 10 ms; "peak" is 5–20: 100 ms for
    /// its first 3 seconds, then 10 ms (second 9 relapses to 60 ms).
    fn timeline() -> (Timeline, Vec<Span>) {
        let mut t = Timeline::default();
        for sec in 0..20u32 {
            let ms = match sec {
                5..=7 => 100,
                9 => 60,
                _ => 10,
            };
            t.second_mut(sec).record_n(ms * 1_000_000, 100);
        }
        let spans = vec![
            Span {
                name: "base",
                start: 0,
                end: 5,
            },
            Span {
                name: "peak",
                start: 5,
                end: 20,
            },
        ];
        (t, spans)
    }

    fn judge(t: Threshold, all: &[Threshold]) -> ThresholdOutcome {
        let (timeline, spans) = timeline();
        evaluate(&t, Judging::default(), &spans, &timeline, all)
    }

    #[test]
    fn a_phase_is_judged_on_its_own_seconds() {
        let ms = Duration::from_millis;
        let base = judge(Threshold::p(95.0).lt(ms(20)).in_phase("base"), &[]);
        assert!(base.passed, "{base:?}");
        let peak = judge(Threshold::p(95.0).lt(ms(20)).in_phase("peak"), &[]);
        assert!(
            !peak.passed && peak.observed_display.starts_with("100"),
            "{peak:?}"
        );
        let f = figures(&timeline().1, &timeline().0);
        assert_eq!((f[0].iterations, f[1].iterations), (500, 1500));
        assert!((f[1].throughput - 100.0).abs() < 1e-9);
    }

    #[test]
    fn a_relative_limit_is_a_factor_of_the_other_phase() {
        // The peak's mean: (3 × 100 + 60 + 11 × 10) / 15 = 31.3 ms, over
        // 1.5 × 10 ms and under 4 × 10 ms.
        let t = |factor| {
            judge(
                Threshold::relative(Metric::Mean, Op::Lt, factor, "base").in_phase("peak"),
                &[],
            )
        };
        let tight = t(1.5);
        assert!(!tight.passed, "{tight:?}");
        assert!(
            tight.observed_display.contains("1.5 × \"base\"'s 10"),
            "{tight:?}"
        );
        assert!(t(4.0).passed);
        assert_eq!(t(4.0).threshold, "mean in \"peak\" < 4 * \"base\"");
    }

    #[test]
    fn recovery_counts_from_the_phase_start_until_it_stays_within() {
        let p95 = Threshold::p(95.0).lt(Duration::from_millis(50));
        let r = judge(
            Threshold::recovery("peak").lt(Duration::from_secs(8)),
            &[p95],
        );
        // Seconds 5–7 are over, 8 within, 9 over again: from 10 on (5 s
        // into the phase) it stays.
        assert_eq!(r.observed, Some(5e9), "{r:?}");
        assert!(r.passed);
        let quick = judge(
            Threshold::recovery("peak").lt(Duration::from_secs(4)),
            &[p95],
        );
        assert!(!quick.passed);
        // Under a limit it never meets: never recovered.
        let tight = Threshold::p(95.0).lt(Duration::from_millis(5));
        let never = judge(
            Threshold::recovery("peak").lt(Duration::from_secs(60)),
            &[tight],
        );
        assert!(!never.passed);
        assert!(
            never.observed_display.starts_with("never recovered in 15s"),
            "{never:?}"
        );
        // A phase the run does not have.
        let typo = judge(
            Threshold::p(95.0)
                .lt(Duration::from_millis(5))
                .in_phase("pek"),
            &[],
        );
        assert!(
            !typo.passed && typo.observed_display.contains("did you mean \"peak\""),
            "{typo:?}"
        );
    }
}
