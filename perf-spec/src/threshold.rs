//! Threshold metrics, comparison operators and the rules that tie them.

use std::cmp::Ordering;
use std::fmt;
use std::time::Duration;

use crate::duration::format_duration;

/// Every metric name a threshold may use (besides `p(N)`), for messages and
/// suggestions.
pub const METRIC_NAMES: &[&str] = &[
    "mean",
    "avg",
    "min",
    "max",
    "p50",
    "p75",
    "p90",
    "p95",
    "p99",
    "p999",
    "error_rate",
    "throughput",
    "dropped",
    "dropped_rate",
    "peak_heap",
    "allocs_per_iter",
    "bytes_per_iter",
    "leaks",
    "leak_per_iter",
    "cpu",
    "peak_rss",
    "checks",
    "capacity",
    "recovery",
];

/// The custom metric every check's evaluations are counted in (1 passed,
/// 0 failed), whose mean `checks` thresholds judge.
pub const CHECKS_METRIC: &str = "checks";

/// The prefix of the custom metric one check's evaluations are counted
/// in.
pub const CHECK_PREFIX: &str = "check:";

/// The custom metric one check's evaluations are counted in:
/// `check:<name>`.
pub fn check_metric(name: &str) -> String {
    format!("{CHECK_PREFIX}{name}")
}

/// A percentile in `(0, 100]`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Percentile(f64);

impl Percentile {
    /// `p` must lie in `(0, 100]`.
    pub fn new(p: f64) -> Result<Self, String> {
        if p > 0.0 && p <= 100.0 {
            Ok(Percentile(p))
        } else {
            Err(format!(
                "percentile {p} is outside (0, 100]; write e.g. p(99.9)"
            ))
        }
    }

    /// The percentile, e.g. `99.9`.
    pub fn value(self) -> f64 {
        self.0
    }

    /// The quantile, e.g. `0.999`.
    pub fn quantile(self) -> f64 {
        self.0 / 100.0
    }
}

/// What a threshold measures.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Metric {
    /// Mean latency (`mean`, alias `avg`).
    Mean,
    /// Fastest iteration.
    Min,
    /// Slowest iteration.
    Max,
    /// A latency percentile (`p95`, `p999`, `p(99.9)`).
    Percentile(Percentile),
    /// Failed iterations over all iterations.
    ErrorRate,
    /// Completed iterations per second.
    Throughput,
    /// Iterations of an open-model run that found no free worker at their
    /// scheduled start (a count).
    Dropped,
    /// Dropped iterations over scheduled iterations.
    DroppedRate,
    /// Most bytes the test's allocations held at once.
    PeakHeap,
    /// Allocations per measured iteration (mean).
    AllocsPerIter,
    /// Bytes allocated per measured iteration (mean).
    BytesPerIter,
    /// 1 if a leak was detected, else 0.
    Leaks,
    /// Growth of retained bytes per iteration, as fitted for leak detection.
    LeakPerIter,
    /// CPU over the measured phase as a share of the cores available (1.0
    /// = all busy): of the test process, or of a monitored process
    /// (`cpu of "orders-fn"`).
    Cpu(Option<&'static str>),
    /// The largest resident set size sampled: of the test process, or of
    /// a monitored process (`peak_rss of "orders-fn"`).
    PeakRss(Option<&'static str>),
    /// Failed iterations of one error class over all iterations
    /// (`throttle_rate`: class `throttle`).
    ClassRate(&'static str),
    /// The highest arrival rate a capacity search found to hold, per
    /// second (`capacity >= 1000`).
    Capacity,
    /// How long a phase took, from its start, until the per-second
    /// percentile (p95 unless `recovery of p99`) was back within its limit
    /// and stayed there (`recovery in "peak" < "60s"`).
    Recovery(Percentile),
    /// The share of checks that passed (`checks`), or of one named check
    /// (`check "body has id"`).
    Checks(Option<&'static str>),
    /// A statistic of a custom metric recorded with `ctx.record`,
    /// `ctx.record_duration` or `ctx.count`: `p95 of "cold_invoke"`,
    /// `mean of "consumed_rcu"`.
    Custom {
        /// The metric's name.
        name: &'static str,
        /// Which statistic.
        stat: Stat,
        /// Whether the limit is a duration (for `record_duration` metrics;
        /// in nanoseconds) rather than a number.
        duration: bool,
    },
}

/// A statistic of a custom metric.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Stat {
    /// Mean of the recorded values.
    Mean,
    /// Smallest value.
    Min,
    /// Largest value.
    Max,
    /// Sum of the values (a counter's total).
    Sum,
    /// How many values were recorded.
    Count,
    /// A percentile (duration metrics only: they keep a histogram).
    Percentile(Percentile),
}

impl Stat {
    /// The statistic for a name as written before `of`.
    pub fn from_name(name: &str) -> Option<Stat> {
        Some(match name {
            "mean" | "avg" => Stat::Mean,
            "min" => Stat::Min,
            "max" => Stat::Max,
            "sum" => Stat::Sum,
            "count" => Stat::Count,
            _ => match Metric::from_name(name)? {
                Metric::Percentile(p) => Stat::Percentile(p),
                _ => return None,
            },
        })
    }
}

impl fmt::Display for Stat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Stat::Mean => f.write_str("mean"),
            Stat::Min => f.write_str("min"),
            Stat::Max => f.write_str("max"),
            Stat::Sum => f.write_str("sum"),
            Stat::Count => f.write_str("count"),
            Stat::Percentile(p) => write!(f, "p{}", p.0),
        }
    }
}

/// How a metric's value is expressed, which decides the limit's unit and
/// the operators that make sense.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetricKind {
    /// A latency: the limit is a duration; only upper bounds make sense.
    Latency,
    /// A fraction in `[0, 1]`; only upper bounds make sense.
    Fraction,
    /// Iterations per second; only lower bounds make sense.
    PerSecond,
    /// A count (iterations, allocations, leaks); only upper bounds make sense.
    Count,
    /// Bytes; only upper bounds make sense.
    Bytes,
    /// A custom metric's number: either bound makes sense.
    Value,
    /// A fraction in `[0, 1]` where more is better (a pass rate); only
    /// lower bounds make sense.
    PassRate,
}

impl Metric {
    /// The metric for a name as written in the attribute.
    pub fn from_name(name: &str) -> Option<Metric> {
        let p = |v| Some(Metric::Percentile(Percentile(v)));
        match name {
            "mean" | "avg" => Some(Metric::Mean),
            "min" => Some(Metric::Min),
            "max" => Some(Metric::Max),
            "p50" => p(50.0),
            "p75" => p(75.0),
            "p90" => p(90.0),
            "p95" => p(95.0),
            "p99" => p(99.0),
            "p999" => p(99.9),
            "error_rate" => Some(Metric::ErrorRate),
            "throughput" => Some(Metric::Throughput),
            "dropped" => Some(Metric::Dropped),
            "dropped_rate" => Some(Metric::DroppedRate),
            "peak_heap" => Some(Metric::PeakHeap),
            "allocs_per_iter" => Some(Metric::AllocsPerIter),
            "bytes_per_iter" => Some(Metric::BytesPerIter),
            "leaks" => Some(Metric::Leaks),
            "leak_per_iter" => Some(Metric::LeakPerIter),
            "cpu" => Some(Metric::Cpu(None)),
            "peak_rss" => Some(Metric::PeakRss(None)),
            "checks" => Some(Metric::Checks(None)),
            "capacity" => Some(Metric::Capacity),
            "recovery" => Some(Metric::Recovery(Percentile(95.0))),
            _ => None,
        }
    }

    /// Whether the limit is a duration, a fraction or a rate.
    pub fn kind(self) -> MetricKind {
        match self {
            Metric::Mean
            | Metric::Min
            | Metric::Max
            | Metric::Percentile(_)
            | Metric::Recovery(_) => MetricKind::Latency,
            Metric::ErrorRate | Metric::DroppedRate | Metric::ClassRate(_) | Metric::Cpu(_) => {
                MetricKind::Fraction
            }
            Metric::Throughput | Metric::Capacity => MetricKind::PerSecond,
            Metric::Checks(_) => MetricKind::PassRate,
            Metric::Dropped | Metric::AllocsPerIter | Metric::Leaks => MetricKind::Count,
            Metric::PeakHeap | Metric::BytesPerIter | Metric::LeakPerIter | Metric::PeakRss(_) => {
                MetricKind::Bytes
            }
            Metric::Custom {
                stat: Stat::Count, ..
            } => MetricKind::Value,
            Metric::Custom { duration: true, .. } => MetricKind::Latency,
            Metric::Custom { .. } => MetricKind::Value,
        }
    }

    /// Whether the run estimates this figure from samples, with a
    /// confidence interval (a percentile, the mean, a rate, throughput, a
    /// custom metric's mean or percentile), so that its verdict can be
    /// inconclusive. Exact figures (min, max, counts, memory, a custom
    /// metric's sum) decide by their value.
    pub fn has_interval(self) -> bool {
        match self {
            Metric::Percentile(_)
            | Metric::Mean
            | Metric::ErrorRate
            | Metric::DroppedRate
            | Metric::ClassRate(_)
            | Metric::Checks(_)
            | Metric::Throughput => true,
            Metric::Custom { stat, .. } => matches!(stat, Stat::Mean | Stat::Percentile(_)),
            _ => false,
        }
    }

    /// Whether this is a memory figure (needs the tracking allocator).
    pub fn is_memory(self) -> bool {
        matches!(
            self,
            Metric::PeakHeap
                | Metric::AllocsPerIter
                | Metric::BytesPerIter
                | Metric::Leaks
                | Metric::LeakPerIter
        )
    }

    /// Whether this is a resource figure (sampled once per second: CPU,
    /// RSS), of the test process or a monitored one.
    pub fn is_resource(self) -> bool {
        matches!(self, Metric::Cpu(_) | Metric::PeakRss(_))
    }

    /// The monitored process a resource figure is of (`None`: the test
    /// process, or not a resource figure).
    pub fn process(self) -> Option<&'static str> {
        match self {
            Metric::Cpu(p) | Metric::PeakRss(p) => p,
            _ => None,
        }
    }

    /// Checks that `op` makes sense for this metric.
    pub fn check_op(self, op: Op) -> Result<(), String> {
        if op == Op::Eq {
            return if self == Metric::Leaks {
                Ok(())
            } else {
                Err(format!("`{self} ==` is not a threshold: `==` is only for `leaks == 0`; use `<` or `<=`"))
            };
        }
        match (self.kind(), op.is_upper_bound()) {
            (MetricKind::Latency, false) => Err(format!(
                "`{self} {op}` asks for slower code: latency thresholds are upper bounds; use `<` or `<=`"
            )),
            (MetricKind::Fraction | MetricKind::Count | MetricKind::Bytes, false) => Err(format!(
                "`{self} {op}` asks for more: `{self}` thresholds are upper bounds (less is better); use `<` or `<=`"
            )),
            (MetricKind::PerSecond, true) => Err(format!(
                "`{self} {op}` caps throughput: throughput thresholds are lower bounds; use `>=` or `>`"
            )),
            (MetricKind::PassRate, true) => Err(format!(
                "`{self} {op}` asks for failing checks: a pass rate is a lower bound (more is better); use `>` or `>=`"
            )),
            _ => Ok(()),
        }
    }

    /// Rank in `min <= p(x) <= max`; `None` for metrics outside that chain.
    fn order_rank(self) -> Option<f64> {
        match self {
            Metric::Min => Some(0.0),
            Metric::Percentile(p) => Some(p.0),
            Metric::Max => Some(100.0),
            _ => None,
        }
    }
}

impl fmt::Display for Metric {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Metric::Mean => f.write_str("mean"),
            Metric::Min => f.write_str("min"),
            Metric::Max => f.write_str("max"),
            Metric::Percentile(p) => write!(f, "p{}", p.0),
            Metric::ErrorRate => f.write_str("error_rate"),
            Metric::Throughput => f.write_str("throughput"),
            Metric::Dropped => f.write_str("dropped"),
            Metric::DroppedRate => f.write_str("dropped_rate"),
            Metric::PeakHeap => f.write_str("peak_heap"),
            Metric::AllocsPerIter => f.write_str("allocs_per_iter"),
            Metric::BytesPerIter => f.write_str("bytes_per_iter"),
            Metric::Leaks => f.write_str("leaks"),
            Metric::LeakPerIter => f.write_str("leak_per_iter"),
            Metric::ClassRate(class) => write!(f, "{class}_rate"),
            Metric::Cpu(None) => f.write_str("cpu"),
            Metric::Cpu(Some(p)) => write!(f, "cpu of {p:?}"),
            Metric::PeakRss(None) => f.write_str("peak_rss"),
            Metric::PeakRss(Some(p)) => write!(f, "peak_rss of {p:?}"),
            Metric::Capacity => f.write_str("capacity"),
            Metric::Recovery(p) if p.0 == 95.0 => f.write_str("recovery"),
            Metric::Recovery(p) => write!(f, "recovery of p{}", p.0),
            Metric::Checks(None) => f.write_str("checks"),
            Metric::Checks(Some(name)) => write!(f, "check {name:?}"),
            Metric::Custom { name, stat, .. } => write!(f, "{stat} of {name:?}"),
        }
    }
}

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `==` (only `leaks == 0`)
    Eq,
}

impl Op {
    /// `<`, `<=` and `==` (which bounds from above too).
    pub fn is_upper_bound(self) -> bool {
        matches!(self, Op::Lt | Op::Le | Op::Eq)
    }

    /// Whether `observed op limit` holds.
    pub fn holds(self, observed: f64, limit: f64) -> bool {
        match self {
            Op::Lt => observed < limit,
            Op::Le => observed <= limit,
            Op::Gt => observed > limit,
            Op::Ge => observed >= limit,
            Op::Eq => observed == limit,
        }
    }
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Op::Lt => "<",
            Op::Le => "<=",
            Op::Gt => ">",
            Op::Ge => ">=",
            Op::Eq => "==",
        })
    }
}

/// One threshold: `metric op limit`, over the whole run or `per` window.
///
/// `limit` is in nanoseconds for latency metrics, a fraction in `[0, 1]` for
/// `error_rate` and `dropped_rate`, iterations per second for `throughput`
/// and a count for `dropped`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ThresholdSpec {
    /// What is measured.
    pub metric: Metric,
    /// How it is compared.
    pub op: Op,
    /// The limit, in the metric's unit.
    pub limit: f64,
    /// Evaluate over every full sliding window of this length (whole
    /// seconds), instead of the whole run.
    pub window: Option<Duration>,
    /// Evaluate over the iterations with this tag only (`p95 for "cold"`).
    pub tag: Option<&'static str>,
    /// Evaluate over one phase of the stages only (`p95 in "peak"`).
    pub phase: Option<&'static str>,
    /// The limit is a factor of the same metric in this other phase
    /// (`mean in "peak" < 1.5 * "baseline"`: `limit` is 1.5).
    pub relative_to: Option<&'static str>,
}

impl ThresholdSpec {
    /// Whether the looks of `repeat = "auto"` judge this threshold while
    /// the run goes on: a whole-run, untagged figure with an interval that
    /// the run shows as it goes (custom metrics, tagged and per-window
    /// thresholds are judged at the end only).
    pub fn judged_by_looks(&self) -> bool {
        self.window.is_none()
            && self.tag.is_none()
            && self.phase.is_none()
            && self.metric.has_interval()
            && !matches!(self.metric, Metric::Custom { .. })
    }

    /// Checks the operator and the limit on their own (not against other
    /// thresholds: see [`check_consistency`]).
    pub fn check(&self) -> Result<(), String> {
        self.check_phase()?;
        if self.relative_to.is_some() {
            // The limit is a factor, not in the metric's unit.
            self.metric.check_op(self.op)?;
            return if self.limit.is_finite() && self.limit > 0.0 {
                Ok(())
            } else {
                Err(format!(
                    "a relative limit is a positive factor, e.g. `{} in \"peak\" < 1.5 * \"baseline\"`, got {}",
                    self.metric, self.limit
                ))
            };
        }
        if let Metric::Custom {
            name,
            stat,
            duration,
        } = self.metric
        {
            if name.is_empty() {
                return Err(
                    "a custom metric has a name, e.g. `mean of \"consumed_rcu\" < 1.0`".into(),
                );
            }
            if matches!(stat, Stat::Percentile(_)) && !duration {
                return Err(format!(
                    "`{}`: percentiles are kept for duration metrics only (`ctx.record_duration`); give the limit as a duration, e.g. \"500ms\"",
                    self.metric
                ));
            }
            if self.tag.is_some() {
                return Err("custom metrics are not kept per tag: drop `for \"...\"`".into());
            }
        }
        if self.metric.process() == Some("") {
            return Err(format!(
                "`{} of` needs a process name, e.g. `cpu of \"orders-fn\" < \"70%\"`",
                if matches!(self.metric, Metric::Cpu(_)) {
                    "cpu"
                } else {
                    "peak_rss"
                }
            ));
        }
        if self.tag.is_some() && self.metric.is_resource() {
            return Err(format!(
                "`{}` is sampled for the whole process, not per tag: drop `for \"...\"`",
                self.metric
            ));
        }
        if self.tag.is_some()
            && !matches!(
                self.metric.kind(),
                MetricKind::Latency | MetricKind::Fraction
            )
        {
            return Err(format!(
                "`{}` is not kept per tag: tag latency metrics or error rates",
                self.metric
            ));
        }
        if self.tag.is_some() && self.metric == Metric::DroppedRate {
            return Err("dropped iterations never ran, so they have no tag".into());
        }
        self.metric.check_op(self.op)?;
        let (m, op, l) = (self.metric, self.op, self.limit);
        if !l.is_finite() || l < 0.0 {
            return Err(format!(
                "`{m} {op}` needs a finite, non-negative limit, got {l}"
            ));
        }
        match m.kind() {
            MetricKind::Latency if l == 0.0 => Err(format!(
                "`{m} {op} 0` can never pass: no iteration takes zero time; give a positive duration"
            )),
            MetricKind::Fraction | MetricKind::PassRate if l > 1.0 => Err(format!(
                "`{m}` limit {l} is outside [0, 1]; write a fraction (0.01) or a percentage (\"1%\")"
            )),
            MetricKind::PassRate if op == Op::Gt && l == 1.0 => Err(format!(
                "`{m} > 1` can never pass; write `{m} >= 1` for every check to pass"
            )),
            MetricKind::PassRate if l == 0.0 => Err(format!(
                "`{m} {op} 0` always passes; give the share that must pass, e.g. `{m} > 0.99`"
            )),
            MetricKind::Fraction if l == 0.0 && op == Op::Lt => Err(format!(
                "`{m} < 0` can never pass; write `{m} <= 0` to allow no errors at all"
            )),
            MetricKind::PerSecond if l == 0.0 => {
                Err(format!("`{m} {op} 0` always passes; give a positive rate"))
            }
            _ if op == Op::Eq && l != 0.0 => Err(format!("`{m} == {l}`: write `{m} == 0` (no leak) or drop the threshold")),
            MetricKind::Bytes if l == 0.0 && op == Op::Lt => {
                Err(format!("`{m} < 0B` can never pass; give a positive size"))
            }
            MetricKind::Count if l == 0.0 && op == Op::Lt => {
                Err(format!("`{m} < 0` can never pass; write `{m} < 1` (or `<= 0`) to allow none"))
            }
            _ => self.check_window(),
        }
    }

    /// Checks `in "phase"`, a relative limit and `recovery`: a metric with
    /// a figure per phase, and nothing else that narrows it.
    fn check_phase(&self) -> Result<(), String> {
        let m = self.metric;
        if matches!(m, Metric::Recovery(_)) {
            if self.phase.is_none() {
                return Err(format!(
                    "`{m}` is the time a phase takes to recover: write `{m} in \"peak\" < \"60s\"`"
                ));
            }
            if self.relative_to.is_some() {
                return Err(format!("`{m}` is a time: give it a duration, e.g. `< \"60s\"`, not a factor of another phase"));
            }
        }
        if self.relative_to.is_some() && self.phase.is_none() {
            return Err(format!(
                "a relative limit compares one phase with another: write `{m} in \"peak\" < {} * {:?}`",
                self.limit,
                self.relative_to.unwrap_or_default()
            ));
        }
        if self.phase.is_none() {
            return Ok(());
        }
        if !crate::phase::has_phase_figure(m) {
            return Err(format!(
                "`{m}` has no figure per phase: phases are judged on latency, error_rate, throughput, dropped and dropped_rate"
            ));
        }
        if self.tag.is_some() || self.window.is_some() {
            return Err("a phase's figures are not kept per tag or per window: drop `for \"...\"` or `per \"...\"`".into());
        }
        if self.phase == self.relative_to {
            return Err(format!(
                "`{m} in {:?}` is compared with itself: name another phase after `*`",
                self.phase.unwrap_or_default()
            ));
        }
        Ok(())
    }

    /// Checks the `per` window: whole seconds, and a metric that means
    /// something per window.
    fn check_window(&self) -> Result<(), String> {
        let Some(w) = self.window else { return Ok(()) };
        if w.is_zero() || w.subsec_nanos() != 0 {
            return Err(format!(
                "window `per \"{}\"` must be a whole number of seconds (the timeline is kept per second)",
                format_duration(w)
            ));
        }
        if self.metric.is_memory() {
            return Err(format!(
                "`{}` is a whole-run memory figure: it has no per-window value",
                self.metric
            ));
        }
        if matches!(self.metric, Metric::PeakRss(_)) {
            return Err(format!(
                "`{}` is the largest RSS of the run, which is already the worst window: drop `per`",
                self.metric
            ));
        }
        if matches!(self.metric, Metric::Custom { .. } | Metric::Checks(_)) {
            return Err(
                "custom metrics and checks are kept for the whole run, not per second: \
                        a threshold on one has no per-window value"
                    .into(),
            );
        }
        if self.tag.is_some() || matches!(self.metric, Metric::ClassRate(_)) {
            return Err(
                "the per-second timeline is not kept per tag or error class: \
                        a threshold on one has no per-window value"
                    .into(),
            );
        }
        if self.metric == Metric::Dropped {
            return Err("`dropped` counts the whole run, so a window adds nothing: \
                        use `dropped_rate < … per \"…\"` for a per-window limit"
                .into());
        }
        Ok(())
    }

    /// The limit as written, in its unit (`200ms`, `0.01`, `1000/s`).
    pub fn limit_display(&self) -> String {
        match self.metric.kind() {
            MetricKind::Latency => format_duration(Duration::from_nanos(self.limit as u64)),
            MetricKind::Fraction if matches!(self.metric, Metric::Cpu(_)) => {
                format!("{}%", (self.limit * 1e4).round() / 1e2)
            }
            // "99.9%" parses to 0.9990000000000001: shown as written.
            MetricKind::Fraction | MetricKind::PassRate => {
                format!("{}", (self.limit * 1e12).round() / 1e12)
            }
            MetricKind::PerSecond => format!("{}/s", self.limit),
            MetricKind::Count => format!("{}", self.limit),
            MetricKind::Bytes => crate::format_size_limit(self.limit),
            MetricKind::Value => format!("{}", self.limit),
        }
    }
}

impl fmt::Display for ThresholdSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.metric)?;
        if let Some(tag) = self.tag {
            write!(f, " for {tag:?}")?;
        }
        if let Some(phase) = self.phase {
            write!(f, " in {phase:?}")?;
        }
        match self.relative_to {
            Some(other) => write!(f, " {} {} * {other:?}", self.op, self.limit)?,
            None => write!(f, " {} {}", self.op, self.limit_display())?,
        }
        if let Some(w) = self.window {
            write!(f, " per {}", format_duration(w))?;
        }
        Ok(())
    }
}

/// Finds duplicated and contradictory thresholds.
///
/// Returns `(index, message)` for each offending threshold, the index
/// pointing at the later of the two so that an error can be reported at the
/// token the user most likely got wrong. Rules:
/// - two upper (or two lower) bounds on the same metric are a duplicate;
/// - `min <= p(a) <= p(b) <= max` for `a < b`, and `min <= mean <= max`: an
///   upper bound on a higher metric that is below the upper bound on a lower
///   one (`p99 < "100ms"` beside `p95 < "200ms"`, `min` above `max`) is
///   almost always a swap, and is rejected.
pub fn check_consistency(specs: &[ThresholdSpec]) -> Vec<(usize, String)> {
    let mut problems = Vec::new();
    for (j, b) in specs.iter().enumerate() {
        for a in &specs[..j] {
            if a.window != b.window
                || a.tag != b.tag
                || a.phase != b.phase
                || a.relative_to != b.relative_to
            {
                continue;
            }
            if a.metric == b.metric && a.op.is_upper_bound() == b.op.is_upper_bound() {
                problems.push((
                    j,
                    format!("duplicate threshold on `{}` (already `{a}`)", b.metric),
                ));
                break;
            }
            if !(a.op.is_upper_bound() && b.op.is_upper_bound()) {
                continue;
            }
            if a.metric.kind() != MetricKind::Latency || b.metric.kind() != MetricKind::Latency {
                continue;
            }
            if let Some(order) = metric_order(a.metric, b.metric) {
                // `lo` is the metric that is never larger than `hi`.
                let (lo, hi) = if order == Ordering::Less {
                    (a, b)
                } else {
                    (b, a)
                };
                if hi.limit < lo.limit {
                    problems.push((
                        j,
                        format!(
                            "`{hi}` is below `{lo}`, but {} is never smaller than {}: \
                             were the limits swapped?",
                            hi.metric, lo.metric
                        ),
                    ));
                    break;
                }
            }
        }
    }
    problems
}

/// `Less` if `a` is never larger than `b` for any data, `Greater` for the
/// reverse, `None` when no order holds (mean vs a percentile).
fn metric_order(a: Metric, b: Metric) -> Option<Ordering> {
    match (a, b) {
        (Metric::Mean, Metric::Min) | (Metric::Max, Metric::Mean) => Some(Ordering::Greater),
        (Metric::Min, Metric::Mean) | (Metric::Mean, Metric::Max) => Some(Ordering::Less),
        _ => {
            let (ra, rb) = (a.order_rank()?, b.order_rank()?);
            ra.partial_cmp(&rb).filter(|o| *o != Ordering::Equal)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(metric: &str, op: Op, ms: f64) -> ThresholdSpec {
        spec(Metric::from_name(metric).unwrap(), op, ms * 1e6)
    }

    fn spec(metric: Metric, op: Op, limit: f64) -> ThresholdSpec {
        ThresholdSpec {
            metric,
            op,
            limit,
            window: None,
            tag: None,
            phase: None,
            relative_to: None,
        }
    }

    #[test]
    fn tags_and_classes() {
        let cold = ThresholdSpec {
            tag: Some("cold"),
            ..ms("p95", Op::Lt, 1000.0)
        };
        assert_eq!(cold.to_string(), "p95 for \"cold\" < 1s");
        assert!(cold.check().is_ok());
        let throttle = spec(Metric::ClassRate("throttle"), Op::Lt, 0.001);
        assert_eq!(throttle.to_string(), "throttle_rate < 0.001");
        assert!(throttle.check().is_ok());
        let windowed = ThresholdSpec {
            window: Some(Duration::from_secs(10)),
            ..cold
        };
        assert!(windowed.check().unwrap_err().contains("not kept per tag"));
        // The same metric for two tags is no duplicate.
        let warm = ThresholdSpec {
            tag: Some("warm"),
            ..ms("p95", Op::Lt, 50.0)
        };
        assert!(check_consistency(&[cold, warm, ms("p95", Op::Lt, 900.0)]).is_empty());
    }

    #[test]
    fn resource_thresholds() {
        let cpu = spec(Metric::Cpu(None), Op::Lt, 0.8);
        assert_eq!(cpu.to_string(), "cpu < 80%");
        assert!(cpu.check().is_ok());
        let of = spec(Metric::Cpu(Some("orders-fn")), Op::Lt, 0.7);
        assert_eq!(of.to_string(), "cpu of \"orders-fn\" < 70%");
        let per = ThresholdSpec {
            window: Some(Duration::from_secs(10)),
            ..cpu
        };
        assert!(per.check().is_ok());
        assert!(check_consistency(&[cpu, per, of]).is_empty());
        let err = |s: ThresholdSpec| s.check().unwrap_err();
        assert!(err(spec(Metric::Cpu(None), Op::Gt, 0.5)).contains("upper bounds"));
        assert!(err(spec(Metric::Cpu(None), Op::Lt, 1.5)).contains("outside [0, 1]"));
        let rss = spec(Metric::PeakRss(None), Op::Lt, 512e6);
        assert_eq!(rss.to_string(), "peak_rss < 512MB");
        assert!(rss.check().is_ok());
        let rss_per = ThresholdSpec {
            window: Some(Duration::from_secs(10)),
            ..rss
        };
        assert!(err(rss_per).contains("drop `per`"));
        let tagged = ThresholdSpec {
            tag: Some("cold"),
            ..cpu
        };
        assert!(err(tagged).contains("not per tag"));
        assert!(err(spec(Metric::PeakRss(Some("")), Op::Lt, 1e6)).contains("needs a process name"));
        assert!(Metric::from_name("cpu").unwrap().is_resource());
        assert!(!Metric::PeakHeap.is_resource());
    }

    #[test]
    fn names_and_display() {
        assert_eq!(Metric::from_name("avg"), Some(Metric::Mean));
        assert_eq!(Metric::from_name("p999").unwrap().to_string(), "p99.9");
        let p9999 = Metric::Percentile(Percentile::new(99.99).unwrap());
        assert_eq!(p9999.to_string(), "p99.99");
        assert_eq!(Metric::from_name("p96"), None);
        assert!(Percentile::new(0.0).is_err());
        assert!(Percentile::new(100.5).is_err());
        assert!(Percentile::new(100.0).is_ok());
        assert_eq!(ms("p95", Op::Lt, 200.0).to_string(), "p95 < 200ms");
    }

    #[test]
    fn operators_per_kind() {
        let err = |s: ThresholdSpec| s.check().unwrap_err();
        assert!(err(ms("p95", Op::Gt, 1.0)).contains("upper bounds"));
        assert!(ms("mean", Op::Le, 1.0).check().is_ok());
        assert!(err(spec(Metric::Throughput, Op::Lt, 10.0)).contains("lower bounds"));
        assert!(err(spec(Metric::ErrorRate, Op::Lt, 1.5)).contains("outside [0, 1]"));
        assert!(err(spec(Metric::ErrorRate, Op::Lt, 0.0)).contains("<= 0"));
        assert!(ms("p95", Op::Lt, 0.0).check().is_err());
        assert!(err(spec(Metric::Dropped, Op::Ge, 1.0)).contains("upper bounds"));
        let dropped = spec(Metric::Dropped, Op::Lt, 1.0);
        assert!(dropped.check().is_ok());
        let dropped_per = ThresholdSpec {
            window: Some(Duration::from_secs(10)),
            ..dropped
        };
        assert!(err(dropped_per).contains("dropped_rate"));
        let p95_per = |w| ThresholdSpec {
            window: Some(Duration::from_millis(w)),
            ..ms("p95", Op::Lt, 5.0)
        };
        assert!(p95_per(10_000).check().is_ok());
        assert!(err(p95_per(1_500)).contains("whole number of seconds"));
        assert_eq!(p95_per(10_000).to_string(), "p95 < 5ms per 10s");
    }

    #[test]
    fn checks_are_pass_rates_with_lower_bounds() {
        let err = |s: ThresholdSpec| s.check().unwrap_err();
        let all = Metric::from_name("checks").unwrap();
        assert_eq!(all, Metric::Checks(None));
        assert!(spec(all, Op::Gt, 0.99).check().is_ok());
        assert!(spec(all, Op::Ge, 1.0).check().is_ok());
        assert!(err(spec(all, Op::Lt, 0.99)).contains("lower bound"));
        assert!(err(spec(all, Op::Gt, 1.0)).contains(">= 1"));
        assert!(err(spec(all, Op::Ge, 0.0)).contains("always passes"));
        assert!(err(spec(all, Op::Gt, 1.5)).contains("outside [0, 1]"));
        let named = spec(Metric::Checks(Some("body has id")), Op::Gt, 0.999);
        assert_eq!(named.to_string(), "check \"body has id\" > 0.999");
        assert!(named.metric.has_interval());
        assert_eq!(check_metric("body has id"), "check:body has id");
    }

    #[test]
    fn contradictions() {
        let ok = [
            ms("p95", Op::Lt, 200.0),
            ms("p99", Op::Lt, 500.0),
            ms("max", Op::Lt, 900.0),
        ];
        assert!(check_consistency(&ok).is_empty());
        let swapped = [ms("p95", Op::Lt, 200.0), ms("p99", Op::Lt, 100.0)];
        let problems = check_consistency(&swapped);
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].0, 1);
        assert!(
            problems[0]
                .1
                .contains("`p99 < 100ms` is below `p95 < 200ms`"),
            "{}",
            problems[0].1
        );
        let min_max = [ms("max", Op::Lt, 10.0), ms("min", Op::Lt, 50.0)];
        assert!(check_consistency(&min_max)[0]
            .1
            .contains("`max < 10ms` is below `min < 50ms`"));
        let mean_max = [ms("mean", Op::Lt, 10.0), ms("max", Op::Lt, 5.0)];
        assert_eq!(check_consistency(&mean_max).len(), 1);
        // mean and percentiles have no order: both directions allowed.
        let mean_p = [ms("mean", Op::Lt, 10.0), ms("p50", Op::Lt, 5.0)];
        assert!(check_consistency(&mean_p).is_empty());
        let dup = [ms("p95", Op::Lt, 10.0), ms("p95", Op::Le, 20.0)];
        assert!(check_consistency(&dup)[0].1.contains("duplicate"));
        // The same metric over the run and per window is not a duplicate.
        let per = ThresholdSpec {
            window: Some(Duration::from_secs(10)),
            ..ms("p95", Op::Lt, 20.0)
        };
        assert!(check_consistency(&[ms("p95", Op::Lt, 10.0), per]).is_empty());
    }
}
