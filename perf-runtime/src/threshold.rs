//! Thresholds and their evaluation against a report.

use std::time::Duration;

use perf_spec::{format_duration, Metric, MetricKind, Op, Percentile, ThresholdSpec};
use serde::{Deserialize, Serialize};

use crate::report::Report;

/// A pass/fail condition on one metric of a run, e.g. `p95 < 200ms`.
///
/// ```
/// use perf_runtime::Threshold;
/// use std::time::Duration;
///
/// let t = Threshold::p(95.0).lt(Duration::from_millis(200));
/// assert_eq!(t.to_string(), "p95 < 200ms");
/// let e = Threshold::error_rate().lt(0.01);
/// let r = Threshold::throughput().ge(1000.0);
/// # let _ = (e, r);
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Threshold(pub(crate) ThresholdSpec);

/// Half-built threshold on a latency metric: give the limit with
/// [`lt`](LatencyBound::lt) or [`le`](LatencyBound::le).
#[derive(Debug, Clone, Copy)]
pub struct LatencyBound(Metric);

/// Half-built threshold on `error_rate`.
#[derive(Debug, Clone, Copy)]
pub struct FractionBound(Metric);

/// Half-built threshold on `throughput`.
#[derive(Debug, Clone, Copy)]
pub struct RateBound(Metric);

impl LatencyBound {
    /// `metric < limit`.
    pub fn lt(self, limit: Duration) -> Threshold {
        Threshold(ThresholdSpec {
            metric: self.0,
            op: Op::Lt,
            limit: limit.as_nanos() as f64,
        })
    }
    /// `metric <= limit`.
    pub fn le(self, limit: Duration) -> Threshold {
        Threshold(ThresholdSpec {
            metric: self.0,
            op: Op::Le,
            limit: limit.as_nanos() as f64,
        })
    }
}

impl FractionBound {
    /// `error_rate < limit` (a fraction: 0.01 is 1%).
    pub fn lt(self, limit: f64) -> Threshold {
        Threshold(ThresholdSpec {
            metric: self.0,
            op: Op::Lt,
            limit,
        })
    }
    /// `error_rate <= limit`.
    pub fn le(self, limit: f64) -> Threshold {
        Threshold(ThresholdSpec {
            metric: self.0,
            op: Op::Le,
            limit,
        })
    }
}

impl RateBound {
    /// `throughput >= limit` iterations per second.
    pub fn ge(self, limit: f64) -> Threshold {
        Threshold(ThresholdSpec {
            metric: self.0,
            op: Op::Ge,
            limit,
        })
    }
    /// `throughput > limit` iterations per second.
    pub fn gt(self, limit: f64) -> Threshold {
        Threshold(ThresholdSpec {
            metric: self.0,
            op: Op::Gt,
            limit,
        })
    }
}

impl Threshold {
    /// A percentile, `p` in `(0, 100]`: `Threshold::p(99.9)`.
    ///
    /// # Panics
    /// If `p` is outside `(0, 100]`.
    pub fn p(p: f64) -> LatencyBound {
        LatencyBound(Metric::Percentile(
            Percentile::new(p).unwrap_or_else(|e| panic!("{e}")),
        ))
    }
    /// Mean latency.
    pub fn mean() -> LatencyBound {
        LatencyBound(Metric::Mean)
    }
    /// Fastest iteration.
    pub fn min() -> LatencyBound {
        LatencyBound(Metric::Min)
    }
    /// Slowest iteration.
    pub fn max() -> LatencyBound {
        LatencyBound(Metric::Max)
    }
    /// Failed iterations / all iterations.
    pub fn error_rate() -> FractionBound {
        FractionBound(Metric::ErrorRate)
    }
    /// Completed iterations per second over the measured phase.
    pub fn throughput() -> RateBound {
        RateBound(Metric::Throughput)
    }

    /// Wraps a spec as written in the attribute (used by the macro).
    pub fn from_spec(spec: ThresholdSpec) -> Self {
        Threshold(spec)
    }

    /// The metric this threshold checks.
    pub fn metric(&self) -> Metric {
        self.0.metric
    }

    /// Checks this threshold against a report.
    pub fn evaluate(&self, report: &Report) -> ThresholdOutcome {
        let spec = self.0;
        let observed = observe(spec.metric, report);
        ThresholdOutcome {
            threshold: spec.to_string(),
            metric: spec.metric.to_string(),
            op: spec.op.to_string(),
            limit: spec.limit,
            observed,
            observed_display: observed
                .map_or_else(|| "no data".to_owned(), |v| display(spec.metric, v, report)),
            passed: observed.is_some_and(|v| spec.op.holds(v, spec.limit)),
            default: false,
        }
    }

    /// `error_rate <= 0`: applied when a test declares no `error_rate`
    /// threshold, so that a run whose iterations all fail never passes
    /// quietly on its latency alone. Declare `error_rate < 0.01` (or
    /// `error_rate <= 1`) to allow errors.
    pub(crate) fn default_error_rate() -> Threshold {
        Threshold(ThresholdSpec {
            metric: Metric::ErrorRate,
            op: Op::Le,
            limit: 0.0,
        })
    }
}

impl std::fmt::Display for Threshold {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// The verdict of one threshold.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ThresholdOutcome {
    /// As written: `p95 < 200ms`.
    pub threshold: String,
    /// The metric's name: `p95`, `mean`, `error_rate`, `throughput`.
    pub metric: String,
    /// `<`, `<=`, `>`, `>=`.
    pub op: String,
    /// The limit: nanoseconds, a fraction, or iterations per second.
    pub limit: f64,
    /// The observed value in the limit's unit; `None` when the run recorded
    /// nothing to observe (then the threshold fails).
    pub observed: Option<f64>,
    /// The observed value for people: `12.3ms`, `0.0300 (3 of 100)`.
    pub observed_display: String,
    /// Whether it held.
    pub passed: bool,
    /// Applied by default (`error_rate <= 0` when none was declared).
    #[serde(default)]
    pub default: bool,
}

fn observe(metric: Metric, r: &Report) -> Option<f64> {
    match metric {
        Metric::ErrorRate => (r.iterations > 0).then_some(r.error_rate),
        Metric::Throughput => Some(r.throughput),
        _ if r.iterations == 0 => None,
        Metric::Mean => Some(r.latency.mean_ns),
        Metric::Min => Some(r.latency.min_ns as f64),
        Metric::Max => Some(r.latency.max_ns as f64),
        Metric::Percentile(p) => Some(r.percentile(p.value()).as_nanos() as f64),
    }
}

fn display(metric: Metric, v: f64, r: &Report) -> String {
    match metric.kind() {
        MetricKind::Latency => format_duration(Duration::from_nanos(v.round() as u64)),
        MetricKind::Fraction => format!("{v:.4} ({} of {})", r.errors, r.iterations),
        MetricKind::PerSecond => crate::summary::rate(v),
    }
}
