//! Thresholds as declared: a metric, a comparison and a limit, over the
//! whole run, one tag, or every window; and their outcomes as reported.
//! Evaluation is [`crate::judge::threshold`]'s.

use std::time::Duration;

use perf_spec::{Metric, Op, Percentile, Stat, ThresholdSpec};
use serde::{Deserialize, Serialize};

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
        Threshold::new(self.0, Op::Lt, limit.as_nanos() as f64)
    }
    /// `metric <= limit`.
    pub fn le(self, limit: Duration) -> Threshold {
        Threshold::new(self.0, Op::Le, limit.as_nanos() as f64)
    }
}

impl FractionBound {
    /// `error_rate < limit` (a fraction: 0.01 is 1%).
    pub fn lt(self, limit: f64) -> Threshold {
        Threshold::new(self.0, Op::Lt, limit)
    }
    /// `error_rate <= limit`.
    pub fn le(self, limit: f64) -> Threshold {
        Threshold::new(self.0, Op::Le, limit)
    }
}

/// Half-built threshold on a pass rate (`checks`): give the lower bound.
#[derive(Debug, Clone, Copy)]
pub struct PassBound(Metric);

impl PassBound {
    /// `checks >= limit` (a fraction: 0.99 is 99%).
    pub fn ge(self, limit: f64) -> Threshold {
        Threshold::new(self.0, Op::Ge, limit)
    }
    /// `checks > limit`.
    pub fn gt(self, limit: f64) -> Threshold {
        Threshold::new(self.0, Op::Gt, limit)
    }
}

impl RateBound {
    /// `throughput >= limit` iterations per second.
    pub fn ge(self, limit: f64) -> Threshold {
        Threshold::new(self.0, Op::Ge, limit)
    }
    /// `throughput > limit` iterations per second.
    pub fn gt(self, limit: f64) -> Threshold {
        Threshold::new(self.0, Op::Gt, limit)
    }
}

impl Threshold {
    fn new(metric: Metric, op: Op, limit: f64) -> Threshold {
        Threshold(ThresholdSpec {
            metric,
            op,
            limit,
            window: None,
            tag: None,
            phase: None,
            relative_to: None,
        })
    }

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

    /// Dropped iterations (open model): iterations that found no free
    /// worker at their scheduled start.
    pub fn dropped() -> CountBound {
        CountBound(Metric::Dropped)
    }
    /// Dropped iterations / scheduled iterations (open model).
    pub fn dropped_rate() -> FractionBound {
        FractionBound(Metric::DroppedRate)
    }

    /// Most bytes held at once (needs the tracking allocator).
    pub fn peak_heap() -> ByteBound {
        ByteBound(Metric::PeakHeap)
    }
    /// Bytes allocated per iteration (needs the tracking allocator).
    pub fn bytes_per_iter() -> ByteBound {
        ByteBound(Metric::BytesPerIter)
    }
    /// Fitted growth of retained bytes per iteration (needs the tracking
    /// allocator).
    pub fn leak_per_iter() -> ByteBound {
        ByteBound(Metric::LeakPerIter)
    }
    /// Allocations per iteration (needs the tracking allocator).
    pub fn allocs_per_iter() -> ValueBound {
        ValueBound(Metric::AllocsPerIter)
    }
    /// `leaks == 0`: no leak detected (needs the tracking allocator).
    pub fn no_leaks() -> Threshold {
        Threshold::new(Metric::Leaks, Op::Eq, 0.0)
    }

    /// CPU of the test process over the measured phase, as a share of the
    /// cores available to it (1.0 = all busy), sampled once per second.
    pub fn cpu() -> FractionBound {
        FractionBound(Metric::Cpu(None))
    }
    /// CPU of a monitored process (`monitor`, or a local Lambda function,
    /// by its name), as a share of the machine's cores.
    pub fn cpu_of(process: &'static str) -> FractionBound {
        FractionBound(Metric::Cpu(Some(process)))
    }
    /// The test process's largest resident set size, sampled once per
    /// second and at the end.
    pub fn peak_rss() -> ByteBound {
        ByteBound(Metric::PeakRss(None))
    }
    /// A monitored process's largest resident set size (of its processes
    /// together).
    pub fn peak_rss_of(process: &'static str) -> ByteBound {
        ByteBound(Metric::PeakRss(Some(process)))
    }

    /// Failed iterations of error class `class` (set with
    /// [`Ctx::error_class`](crate::Ctx::error_class); `error`, `panic` and
    /// `timeout` otherwise) over all iterations: `throttle_rate`.
    pub fn class_rate(class: &'static str) -> FractionBound {
        FractionBound(Metric::ClassRate(class))
    }

    /// The highest arrival rate a capacity search found to hold
    /// ([`PerfTest::capacity`](crate::PerfTest::capacity)): `Threshold::capacity().ge(1000.0)`.
    pub fn capacity() -> RateBound {
        RateBound(Metric::Capacity)
    }

    /// The share of checks that passed, all of them
    /// ([`perf_runtime::http`](crate)'s `check`): `Threshold::checks().gt(0.99)`.
    pub fn checks() -> PassBound {
        PassBound(Metric::Checks(None))
    }
    /// The share of one named check's evaluations that passed:
    /// `Threshold::checks_of("body has id").gt(0.999)`.
    pub fn checks_of(name: &'static str) -> PassBound {
        PassBound(Metric::Checks(Some(name)))
    }

    /// A statistic of custom metric `metric` (recorded with
    /// [`Ctx::record`](crate::Ctx::record), `record_duration` or `count`):
    /// `Threshold::of("consumed_rcu").mean().lt(1.0)`,
    /// `Threshold::of("cold_invoke").p(95.0).lt_duration(Duration::from_secs(1))`.
    pub fn of(metric: &'static str) -> CustomMetric {
        CustomMetric(metric)
    }

    /// Evaluate this threshold over the iterations tagged `tag` only
    /// ([`Ctx::tag`](crate::Ctx::tag)): `Threshold::p(95.0).lt(d).for_tag("cold")`.
    pub fn for_tag(mut self, tag: &'static str) -> Threshold {
        self.0.tag = Some(tag);
        self
    }

    /// The tag this threshold is restricted to, if any.
    pub fn tag(&self) -> Option<&'static str> {
        self.0.tag
    }

    /// Evaluate this threshold over every full sliding window of `seconds`
    /// instead of over the whole run: `Threshold::p(95.0).lt(..).per(10)`.
    pub fn per(mut self, seconds: u32) -> Threshold {
        self.0.window = Some(Duration::from_secs(u64::from(seconds)));
        self
    }

    /// `error_rate <= 0`: applied when a test declares no `error_rate`
    /// threshold, so that a run whose iterations all fail never passes
    /// quietly on its latency alone. Declare `error_rate < 0.01` (or
    /// `error_rate <= 1`) to allow errors.
    pub(crate) fn default_error_rate() -> Threshold {
        Threshold::new(Metric::ErrorRate, Op::Le, 0.0)
    }

    /// `dropped_rate < 0.01`: applied to open-model tests that declare no
    /// `dropped` or `dropped_rate` threshold, so that a run that could not
    /// generate the load it was asked for does not pass quietly.
    pub(crate) fn default_dropped_rate() -> Threshold {
        Threshold::new(Metric::DroppedRate, Op::Lt, 0.01)
    }

    /// Wraps a spec as written in the attribute (used by the macro).
    pub fn from_spec(spec: ThresholdSpec) -> Self {
        Threshold(spec)
    }

    /// The metric this threshold checks.
    pub fn metric(&self) -> Metric {
        self.0.metric
    }

    /// The window length in seconds, for per-window thresholds.
    pub fn window_seconds(&self) -> Option<u32> {
        self.0.window.map(|w| w.as_secs() as u32)
    }

    /// Whether the looks of `repeat = "auto"` judge this threshold
    /// ([`ThresholdSpec::judged_by_looks`]).
    pub(crate) fn judged_by_looks(&self) -> bool {
        self.0.judged_by_looks()
    }
}

/// Half-built threshold on a custom metric: pick the statistic.
#[derive(Debug, Clone, Copy)]
pub struct CustomMetric(&'static str);

/// Half-built threshold on a custom metric's statistic: give the limit, a
/// number ([`lt`](Self::lt) …) or a duration ([`lt_duration`](Self::lt_duration) …,
/// for `record_duration` metrics).
#[derive(Debug, Clone, Copy)]
pub struct CustomBound(&'static str, Stat);

impl CustomMetric {
    /// Mean of the values.
    pub fn mean(self) -> CustomBound {
        CustomBound(self.0, Stat::Mean)
    }
    /// Smallest value.
    pub fn min(self) -> CustomBound {
        CustomBound(self.0, Stat::Min)
    }
    /// Largest value.
    pub fn max(self) -> CustomBound {
        CustomBound(self.0, Stat::Max)
    }
    /// Sum of the values (a counter's total).
    pub fn sum(self) -> CustomBound {
        CustomBound(self.0, Stat::Sum)
    }
    /// Number of values recorded.
    pub fn count(self) -> CustomBound {
        CustomBound(self.0, Stat::Count)
    }
    /// A percentile of a duration metric, `p` in `(0, 100]`.
    ///
    /// # Panics
    /// If `p` is outside `(0, 100]`.
    pub fn p(self, p: f64) -> CustomBound {
        CustomBound(
            self.0,
            Stat::Percentile(Percentile::new(p).unwrap_or_else(|e| panic!("{e}"))),
        )
    }
}

impl CustomBound {
    fn number(self, op: Op, limit: f64) -> Threshold {
        let metric = Metric::Custom {
            name: self.0,
            stat: self.1,
            duration: false,
        };
        Threshold::new(metric, op, limit)
    }
    fn duration(self, op: Op, limit: Duration) -> Threshold {
        let metric = Metric::Custom {
            name: self.0,
            stat: self.1,
            duration: true,
        };
        Threshold::new(metric, op, limit.as_nanos() as f64)
    }
    /// `stat < limit`.
    pub fn lt(self, limit: f64) -> Threshold {
        self.number(Op::Lt, limit)
    }
    /// `stat <= limit`.
    pub fn le(self, limit: f64) -> Threshold {
        self.number(Op::Le, limit)
    }
    /// `stat > limit`.
    pub fn gt(self, limit: f64) -> Threshold {
        self.number(Op::Gt, limit)
    }
    /// `stat >= limit`.
    pub fn ge(self, limit: f64) -> Threshold {
        self.number(Op::Ge, limit)
    }
    /// `stat < limit` for a duration metric.
    pub fn lt_duration(self, limit: Duration) -> Threshold {
        self.duration(Op::Lt, limit)
    }
    /// `stat <= limit` for a duration metric.
    pub fn le_duration(self, limit: Duration) -> Threshold {
        self.duration(Op::Le, limit)
    }
}

/// Half-built threshold on a size in bytes.
#[derive(Debug, Clone, Copy)]
pub struct ByteBound(Metric);

impl ByteBound {
    /// `metric < bytes`.
    pub fn lt(self, bytes: u64) -> Threshold {
        Threshold::new(self.0, Op::Lt, bytes as f64)
    }
    /// `metric <= bytes`.
    pub fn le(self, bytes: u64) -> Threshold {
        Threshold::new(self.0, Op::Le, bytes as f64)
    }
}

/// Half-built threshold on a number such as `allocs_per_iter`.
#[derive(Debug, Clone, Copy)]
pub struct ValueBound(Metric);

impl ValueBound {
    /// `metric < limit`.
    pub fn lt(self, limit: f64) -> Threshold {
        Threshold::new(self.0, Op::Lt, limit)
    }
    /// `metric <= limit`.
    pub fn le(self, limit: f64) -> Threshold {
        Threshold::new(self.0, Op::Le, limit)
    }
}

/// Half-built threshold on `dropped` (a count).
#[derive(Debug, Clone, Copy)]
pub struct CountBound(Metric);

impl CountBound {
    /// `dropped < limit`.
    pub fn lt(self, limit: u64) -> Threshold {
        Threshold::new(self.0, Op::Lt, limit as f64)
    }
    /// `dropped <= limit`.
    pub fn le(self, limit: u64) -> Threshold {
        Threshold::new(self.0, Op::Le, limit as f64)
    }
}

/// How a per-window threshold fared over the run's windows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WindowVerdict {
    /// Window length, seconds.
    pub seconds: u32,
    /// Full windows checked (sliding by one second).
    pub checked: u32,
    /// Windows where the threshold broke.
    pub broken: u32,
    /// Windows whose interval holds the limit (too few samples to tell):
    /// not broken unless `inconclusive = "fail"`.
    #[serde(default)]
    pub inconclusive: u32,
    /// Start (seconds into the run) of the worst window.
    pub worst_start: Option<u32>,
    /// Start of the first broken window.
    pub first_broken_start: Option<u32>,
}

impl WindowVerdict {
    /// No window of `seconds` checked yet.
    pub(crate) fn new(seconds: u32) -> WindowVerdict {
        WindowVerdict {
            seconds,
            checked: 0,
            broken: 0,
            inconclusive: 0,
            worst_start: None,
            first_broken_start: None,
        }
    }
}

impl std::fmt::Display for Threshold {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// What a threshold's interval says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    /// The whole interval is on the right side of the limit.
    Pass,
    /// The whole interval is on the wrong side.
    Fail,
    /// The limit lies inside the interval: the run cannot tell.
    Inconclusive,
}

/// How a test's thresholds are judged: the confidence of their intervals
/// and what an inconclusive one does (`confidence`, `inconclusive`;
/// `PERF_CONFIDENCE`, `PERF_INCONCLUSIVE`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Judging {
    /// The confidence level of every interval (`0.95`).
    pub confidence: f64,
    /// What an inconclusive verdict does.
    #[serde(with = "policy_name")]
    pub inconclusive: perf_spec::Inconclusive,
}

impl Default for Judging {
    fn default() -> Judging {
        Judging {
            confidence: DEFAULT_CONFIDENCE,
            inconclusive: perf_spec::Inconclusive::Warn,
        }
    }
}

/// The confidence level of every interval unless a test says otherwise.
pub const DEFAULT_CONFIDENCE: f64 = 0.95;

impl Judging {
    /// Whether a threshold holds: by its interval's `decision` under the
    /// `fail` and `pass` policies, by the point estimate (`point`) under
    /// `warn` or when the figure has no interval.
    pub fn holds(&self, point: bool, decision: Option<Decision>) -> bool {
        use perf_spec::Inconclusive as P;
        match (decision, self.inconclusive) {
            (Some(Decision::Inconclusive), P::Fail) => false,
            (Some(Decision::Inconclusive), P::Pass) => true,
            (Some(Decision::Pass), _) => true,
            (Some(Decision::Fail), _) => false,
            _ => point,
        }
    }
}

mod policy_name {
    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(
        p: &perf_spec::Inconclusive,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        s.collect_str(p)
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<perf_spec::Inconclusive, D::Error> {
        let text = String::deserialize(d)?;
        perf_spec::parse_inconclusive(&text).map_err(serde::de::Error::custom)
    }
}

/// A confidence interval of an observed figure, in the limit's unit.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Interval {
    /// The confidence level (`0.95`).
    pub confidence: f64,
    /// The lower bound.
    pub low: f64,
    /// The upper bound; `None` when the run cannot bound it (p99.9 of 100
    /// samples).
    pub high: Option<f64>,
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
    /// For per-window thresholds: how the windows fared (`observed` is then
    /// the worst window's value).
    #[serde(default)]
    pub windows: Option<WindowVerdict>,
    /// The observed figure's confidence interval, for figures estimated
    /// from samples (percentiles, mean, error and class rates).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval: Option<Interval>,
    /// What the interval says: `passed` is decided by the observed value;
    /// `inconclusive` marks a verdict decided by noise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decision: Option<Decision>,
    /// Inconclusive only: iterations beyond this run's that would likely
    /// settle it at the observed spread.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub more_iterations: Option<u64>,
    /// A percentile the run has too few samples to estimate at all: why.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sample_size: Option<String>,
    /// The design effect of neighbouring iterations' likeness, measured
    /// from the run's seconds, when above 1: the interval is that of
    /// `n / blocks` independent samples (see `crate::judge::blocks`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blocks: Option<f64>,
}

impl ThresholdOutcome {
    /// `spec` before it is judged: no data, not passed.
    pub(crate) fn unjudged(spec: &ThresholdSpec) -> ThresholdOutcome {
        ThresholdOutcome {
            threshold: spec.to_string(),
            metric: spec.metric.to_string(),
            op: spec.op.to_string(),
            limit: spec.limit,
            observed: None,
            observed_display: "no data".to_owned(),
            passed: false,
            default: false,
            windows: None,
            interval: None,
            decision: None,
            more_iterations: None,
            sample_size: None,
            blocks: None,
        }
    }
}
