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

use crate::model::capacity::{CapacityResult, CapacityStep, StepOutcome};
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
            ThresholdOutcome {
                observed: result.capacity,
                observed_display: display,
                passed,
                ..ThresholdOutcome::unjudged(spec)
            }
        })
        .collect()
}
