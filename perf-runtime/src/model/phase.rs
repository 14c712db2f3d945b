//! A phase's figures (the report's `phases`): a named stretch of the
//! stages (`("peak", "2m", 1000)`), read from the per-second timeline.

use serde::{Deserialize, Serialize};

/// What one phase of the run measured. Its seconds are whole seconds of
/// the measured phase (iterations are placed by their end), and its
/// latencies come from the per-second histograms (within 1%).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PhaseFigures {
    /// The phase's name.
    pub name: String,
    /// Its first second, from the measured phase's start.
    pub start_s: u32,
    /// The second after its last.
    pub end_s: u32,
    /// Iterations that ended in it.
    pub iterations: u64,
    /// Of which failed.
    pub errors: u64,
    /// Failed over iterations (0 without iterations).
    pub error_rate: f64,
    /// Arrivals dropped in it (open model).
    pub dropped: u64,
    /// Iterations per second.
    pub throughput: f64,
    /// Mean latency, nanoseconds.
    pub mean_ns: u64,
    /// p50, nanoseconds.
    pub p50_ns: u64,
    /// p95, nanoseconds.
    pub p95_ns: u64,
    /// p99, nanoseconds.
    pub p99_ns: u64,
    /// Slowest, nanoseconds.
    pub max_ns: u64,
}

impl PhaseFigures {
    /// The columns of a phase's row, in the summary and the HTML report.
    pub const COLUMNS: [&'static str; 11] = [
        "phase",
        "seconds",
        "iterations",
        "throughput",
        "errors",
        "dropped",
        "mean",
        "p50",
        "p95",
        "p99",
        "max",
    ];

    /// The phase's row as text, a cell for each of [`COLUMNS`](Self::COLUMNS).
    pub fn cells(&self) -> [String; 11] {
        let d = |ns: u64| perf_spec::format_duration(std::time::Duration::from_nanos(ns));
        [
            self.name.clone(),
            format!("{}–{}s", self.start_s, self.end_s),
            self.iterations.to_string(),
            perf_spec::format_rate(self.throughput),
            format!("{:.2}%", self.error_rate * 100.0),
            self.dropped.to_string(),
            d(self.mean_ns),
            d(self.p50_ns),
            d(self.p95_ns),
            d(self.p99_ns),
            d(self.max_ns),
        ]
    }
}

/// Every phase the thresholds name is one of the stages', and a recovery
/// has a limit to recover within (the attribute checks the same at
/// compile time).
pub(crate) fn check(
    specs: &[perf_spec::ThresholdSpec],
    stages: &[perf_spec::Stage],
) -> Result<(), String> {
    let phases = perf_spec::phases(stages)?;
    let names: Vec<&str> = phases.iter().map(|p| p.name).collect();
    for spec in specs {
        for name in [spec.phase, spec.relative_to].into_iter().flatten() {
            if !names.contains(&name) {
                return Err(format!(
                    "threshold `{spec}`: {}",
                    perf_spec::unknown_phase(name, &names)
                ));
            }
        }
        if let perf_spec::Metric::Recovery(p) = spec.metric {
            let on = perf_spec::Metric::Percentile(p);
            if perf_spec::recovery_limit(specs, on, spec.phase).is_none() {
                return Err(format!(
                    "threshold `{spec}` needs a limit to recover within: add `Threshold::p({}).lt(..)`",
                    p.value()
                ));
            }
        }
    }
    Ok(())
}

/// Thresholds on phases, in code (the attribute's `p95 in "peak" <
/// "300ms"`, `mean in "peak" < 1.5 * "baseline"`, `recovery in "peak" <
/// "60s"`).
impl crate::model::threshold::Threshold {
    /// Evaluate this threshold over the phase `name` only (stages added
    /// with [`PerfTest::named_stage`](crate::PerfTest::named_stage)):
    /// `Threshold::p(95.0).lt(d).in_phase("peak")`. Latency, error_rate,
    /// throughput, dropped and dropped_rate have a figure per phase.
    pub fn in_phase(mut self, name: &'static str) -> Self {
        self.0.phase = Some(name);
        self
    }

    /// `metric in phase op factor × metric in base`:
    /// `Threshold::relative(Metric::Mean, Op::Lt, 1.5, "baseline").in_phase("peak")`
    /// holds when the peak's mean is under 1.5 times the baseline's.
    pub fn relative(
        metric: perf_spec::Metric,
        op: perf_spec::Op,
        factor: f64,
        base: &'static str,
    ) -> Self {
        Self::from_spec(perf_spec::ThresholdSpec {
            metric,
            op,
            limit: factor,
            window: None,
            tag: None,
            phase: None,
            relative_to: Some(base),
        })
    }

    /// How long the phase `name` takes to recover: the time from its start
    /// until the per-second p95 is back within its limit (the tightest of
    /// the test's `p95 <` thresholds, of the whole run or of this phase)
    /// and stays there for the rest of the phase, or for 10 s:
    /// `Threshold::recovery("peak").lt(Duration::from_secs(60))`.
    pub fn recovery(name: &'static str) -> RecoveryBound {
        Self::recovery_of(95.0, name)
    }

    /// [`recovery`](Self::recovery) of another percentile.
    ///
    /// # Panics
    /// If `p` is outside `(0, 100]`.
    pub fn recovery_of(p: f64, name: &'static str) -> RecoveryBound {
        let p = perf_spec::Percentile::new(p).unwrap_or_else(|e| panic!("{e}"));
        RecoveryBound(p, name)
    }
}

/// Half-built `recovery` threshold: give the longest recovery allowed.
#[derive(Debug, Clone, Copy)]
pub struct RecoveryBound(perf_spec::Percentile, &'static str);

impl RecoveryBound {
    /// `recovery in "phase" < limit`.
    pub fn lt(self, limit: std::time::Duration) -> crate::model::threshold::Threshold {
        crate::model::threshold::Threshold::from_spec(perf_spec::ThresholdSpec {
            metric: perf_spec::Metric::Recovery(self.0),
            op: perf_spec::Op::Lt,
            limit: limit.as_nanos() as f64,
            window: None,
            tag: None,
            phase: Some(self.1),
            relative_to: None,
        })
    }
}
