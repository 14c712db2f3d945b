//! `PerformanceSLA`: a reusable service-level agreement, as a value that can be declared once (`const`), referenced
//! from the attribute (`sla = CHECKOUT_SLA`) and applied to any report.

use std::time::Duration;

use crate::model::threshold::Threshold;
use crate::Report;

/// Limits a run must stay within; `None` leaves a figure unchecked.
///
/// ```
/// use perf_runtime::PerformanceSLA;
/// use std::time::Duration;
///
/// const CHECKOUT_SLA: PerformanceSLA = PerformanceSLA::new()
///     .max_average_latency(Duration::from_millis(100))
///     .max_p95_latency(Duration::from_millis(500))
///     .max_p99_latency(Duration::from_millis(1000))
///     .max_error_rate(0.01)
///     .min_throughput(1000.0);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct PerformanceSLA {
    /// Mean latency at most this.
    pub max_average_latency: Option<Duration>,
    /// 95th percentile at most this.
    pub max_p95_latency: Option<Duration>,
    /// 99th percentile at most this.
    pub max_p99_latency: Option<Duration>,
    /// Error rate (a fraction) at most this.
    pub max_error_rate: Option<f64>,
    /// Completed iterations per second at least this.
    pub min_throughput: Option<f64>,
}

/// One broken limit of an SLA.
#[derive(Debug, Clone, PartialEq)]
pub struct SlaViolation {
    /// Which limit: `max_p95_latency`, …
    pub limit: &'static str,
    /// The threshold, as text: `p95 <= 500ms`.
    pub threshold: String,
    /// What the run showed.
    pub observed: String,
}

impl std::fmt::Display for SlaViolation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}: `{}` broken, observed {}",
            self.limit, self.threshold, self.observed
        )
    }
}

impl PerformanceSLA {
    /// An SLA that checks nothing yet.
    pub const fn new() -> Self {
        PerformanceSLA {
            max_average_latency: None,
            max_p95_latency: None,
            max_p99_latency: None,
            max_error_rate: None,
            min_throughput: None,
        }
    }

    /// Mean latency at most `d`.
    pub const fn max_average_latency(mut self, d: Duration) -> Self {
        self.max_average_latency = Some(d);
        self
    }

    /// 95th percentile at most `d`.
    pub const fn max_p95_latency(mut self, d: Duration) -> Self {
        self.max_p95_latency = Some(d);
        self
    }

    /// 99th percentile at most `d`.
    pub const fn max_p99_latency(mut self, d: Duration) -> Self {
        self.max_p99_latency = Some(d);
        self
    }

    /// Error rate at most `rate` (0.01 is 1%).
    pub const fn max_error_rate(mut self, rate: f64) -> Self {
        self.max_error_rate = Some(rate);
        self
    }

    /// At least `per_second` completed iterations per second.
    pub const fn min_throughput(mut self, per_second: f64) -> Self {
        self.min_throughput = Some(per_second);
        self
    }

    /// The SLA as thresholds, with the name of the limit each comes from.
    pub fn named_thresholds(&self) -> Vec<(&'static str, Threshold)> {
        let mut t = Vec::new();
        if let Some(d) = self.max_average_latency {
            t.push(("max_average_latency", Threshold::mean().le(d)));
        }
        if let Some(d) = self.max_p95_latency {
            t.push(("max_p95_latency", Threshold::p(95.0).le(d)));
        }
        if let Some(d) = self.max_p99_latency {
            t.push(("max_p99_latency", Threshold::p(99.0).le(d)));
        }
        if let Some(r) = self.max_error_rate {
            t.push(("max_error_rate", Threshold::error_rate().le(r)));
        }
        if let Some(r) = self.min_throughput {
            t.push(("min_throughput", Threshold::throughput().ge(r)));
        }
        t
    }

    /// The SLA as thresholds (what `sla = …` adds to a perf test).
    pub fn thresholds(&self) -> Vec<Threshold> {
        self.named_thresholds()
            .into_iter()
            .map(|(_, t)| t)
            .collect()
    }

    /// Checks a report against every limit: `Err` lists all violations,
    /// not just the first.
    pub fn validate(&self, report: &Report) -> Result<(), Vec<SlaViolation>> {
        let violations: Vec<SlaViolation> = self
            .named_thresholds()
            .into_iter()
            .filter_map(|(limit, t)| {
                let outcome = t.evaluate_report(report);
                (!outcome.passed).then_some(SlaViolation {
                    limit,
                    threshold: outcome.threshold,
                    observed: outcome.observed_display,
                })
            })
            .collect();
        if violations.is_empty() {
            Ok(())
        } else {
            Err(violations)
        }
    }
}

impl crate::run::builder::PerfTest {
    /// Adds every limit of `sla` as a threshold.
    pub fn sla(mut self, sla: &PerformanceSLA) -> Self {
        self.thresholds.extend(sla.thresholds());
        self
    }
}
