//! A capacity search's verdicts: how a step ended, read from its judged
//! report (held, broke, or limited by the load generator), and the
//! `capacity >= N` thresholds on the answer.
//!
//! A step is *generator-limited* when what went wrong was the load
//! generator's, not the system's: its CPU saturated, its dispatcher fell
//! behind the schedule, iterations were dropped while workers sat waiting
//! for the runtime, or iterations began later than a tenth of the test's
//! tightest latency limit. Dropped iterations alone (the latency holding)
//! are the pool's limit, the generator's too. Taking such a step for the
//! system's capacity is the worst mistake a search can make, so any of
//! these ends the search with a lower bound instead.

use perf_spec::{format_duration, Metric, MetricKind, Op};

use crate::model::capacity::{CapacityAxis, CapacityResult, CapacityStep, StepOutcome};
use crate::model::report::Report;
use crate::model::threshold::{Threshold, ThresholdOutcome};

/// The share of the tightest latency limit a step's start delay (p95) may
/// reach before the step is the generator's.
pub(crate) const START_DELAY_SHARE: f64 = 0.1;

/// The tightest latency limit among `thresholds` (nanoseconds): upper
/// bounds on the latency's percentiles, mean or max.
pub(crate) fn latency_limit(thresholds: &[Threshold]) -> Option<f64> {
    thresholds
        .iter()
        .map(|t| &t.0)
        .filter(|s| {
            s.tag.is_none()
                && matches!(s.metric, Metric::Percentile(_) | Metric::Mean | Metric::Max)
                && s.metric.kind() == MetricKind::Latency
        })
        .map(|s| s.limit)
        .min_by(f64::total_cmp)
}

/// How the step whose report is `r` ended.
pub(crate) fn outcome(r: &Report, latency_limit: Option<f64>) -> StepOutcome {
    let limited = |reason: String| StepOutcome::GeneratorLimited { reason };
    if let Some(s) = &r.saturation {
        if s.cpu {
            return limited(format!(
                "the generator's CPU was saturated for {:.0}s",
                s.cpu_saturated_s
            ));
        }
        if s.unscheduled > 0 {
            return limited(format!(
                "{} of {} arrivals never started: the dispatcher fell behind the schedule",
                s.unscheduled, s.arrivals
            ));
        }
        if s.starved_drops > 0 {
            return limited(format!(
                "{} arrivals dropped while the workers waited for the runtime",
                s.starved_drops
            ));
        }
    }
    if let (Some(limit), Some(delay)) = (latency_limit, &r.start_delay) {
        let p95 = delay.percentile(95.0).map_or(0.0, |d| d.as_nanos() as f64);
        if p95 > START_DELAY_SHARE * limit {
            return limited(format!(
                "iterations began late: start delay p95 {} is over {:.0}% of the {} latency limit",
                format_duration(std::time::Duration::from_nanos(p95 as u64)),
                START_DELAY_SHARE * 100.0,
                format_duration(std::time::Duration::from_nanos(limit as u64)),
            ));
        }
    }
    let broken: Vec<&ThresholdOutcome> = r.thresholds.iter().filter(|t| !t.passed).collect();
    let drops = |t: &&ThresholdOutcome| t.metric == "dropped" || t.metric == "dropped_rate";
    match broken.iter().find(|t| !drops(t)) {
        Some(t) => StepOutcome::Broke {
            threshold: t.threshold.clone(),
            observed: t.observed_display.clone(),
        },
        None if !broken.is_empty() => limited(format!(
            "{} of {} arrivals dropped with the latency within its limits: the pool of workers is too small for this rate",
            r.dropped,
            r.iterations + r.dropped
        )),
        None => StepOutcome::Held,
    }
}

/// The step's figures, from its report.
pub(crate) fn step(r: &Report, offered: f64, outcome: StepOutcome) -> CapacityStep {
    let ns = |p: f64| r.latency.percentile(p).map_or(0, |d| d.as_nanos() as u64);
    CapacityStep {
        offered,
        achieved: r.throughput,
        iterations: r.iterations,
        dropped: r.dropped,
        p50_ns: ns(50.0),
        p95_ns: ns(95.0),
        p99_ns: ns(99.0),
        mean_ns: r.latency.mean_ns as u64,
        error_rate: r.error_rate,
        start_delay_p95_ns: r
            .start_delay
            .as_ref()
            .and_then(|d| d.percentile(95.0))
            .map(|d| d.as_nanos() as u64),
        cpu: r.resources.as_ref().map(|x| x.cpu_avg),
        outcome,
    }
}

/// `capacity >= N`: the capacity found must reach `N`. A lower bound
/// (generator-limited, the top of the range, the timeout) that already
/// reaches it passes; one that does not fails, saying it is a lower bound.
pub(crate) fn thresholds(
    thresholds: &[Threshold],
    result: &CapacityResult,
) -> Vec<ThresholdOutcome> {
    thresholds
        .iter()
        .filter(|t| t.metric() == Metric::Capacity)
        .map(|t| {
            let spec = &t.0;
            let rate = |v: f64| result.axis.format(v);
            let (passed, display) = match result.capacity {
                Some(c) => {
                    let passed = match spec.op {
                        Op::Ge => c >= spec.limit,
                        Op::Gt => c > spec.limit,
                        _ => false,
                    };
                    let bound = if result.at_least { "≥ " } else { "" };
                    (passed, format!("{bound}{}", rate(c)))
                }
                None => (false, format!("no {} held", result.axis.name())),
            };
            let mut outcome = ThresholdOutcome {
                observed: result.capacity,
                observed_display: display,
                passed,
                ..ThresholdOutcome::unjudged(spec)
            };
            if result.axis == CapacityAxis::Workers {
                // `capacity >= 64 workers`, not a rate's `64/s`.
                outcome.threshold = format!("{} {} {}", spec.metric, spec.op, rate(spec.limit));
            }
            outcome
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn result(axis: CapacityAxis, capacity: Option<f64>, at_least: bool) -> CapacityResult {
        CapacityResult {
            axis,
            capacity,
            at_least,
            first_broken: None,
            broken_by: None,
            generator_limited: None,
            knee: None,
            range: (1.0, 512.0),
            steps: Vec::new(),
            verdict: String::new(),
        }
    }

    fn judged(t: Threshold, r: &CapacityResult) -> ThresholdOutcome {
        let mut out = thresholds(
            &[
                Threshold::p(95.0).lt(std::time::Duration::from_millis(50)),
                t,
            ],
            r,
        );
        assert_eq!(out.len(), 1, "only `capacity` is judged on the answer");
        out.remove(0)
    }

    #[test]
    fn capacity_thresholds_judge_the_answer_and_say_when_it_is_a_lower_bound() {
        let found = result(CapacityAxis::Rate, Some(780.0), false);
        let o = judged(Threshold::capacity().ge(600.0), &found);
        assert!(o.passed);
        assert_eq!(
            (o.threshold.as_str(), o.observed_display.as_str()),
            ("capacity >= 600/s", "780/s")
        );
        assert!(!judged(Threshold::capacity().ge(1000.0), &found).passed);
        assert!(!judged(Threshold::capacity().gt(780.0), &found).passed);
        // A lower bound (the generator's limit) that reaches the limit
        // passes; one that does not fails, shown as a bound.
        let bound = result(CapacityAxis::Rate, Some(5_000.0), true);
        assert!(judged(Threshold::capacity().ge(1000.0), &bound).passed);
        let o = judged(Threshold::capacity().ge(10_000.0), &bound);
        assert!(!o.passed);
        assert_eq!(o.observed_display, "≥ 5,000/s");
        // Nothing held: nothing passes.
        let none = result(CapacityAxis::Rate, None, false);
        let o = judged(Threshold::capacity().ge(1.0), &none);
        assert!(!o.passed);
        assert_eq!(o.observed_display, "no rate held");
    }

    #[test]
    fn a_search_over_workers_is_judged_in_workers() {
        let found = result(CapacityAxis::Workers, Some(21.0), false);
        let o = judged(Threshold::capacity().ge(16.0), &found);
        assert!(o.passed);
        assert_eq!(
            (o.threshold.as_str(), o.observed_display.as_str()),
            ("capacity >= 16 workers", "21 workers")
        );
        assert!(!judged(Threshold::capacity().ge(64.0), &found).passed);
    }
}
