//! The load shape: closed model (workers pull iterations) or open model
//! (iterations arrive at a rate), how long, and its checks.

use std::time::Duration;

use perf_spec::{format_duration, stages_duration, Metric, Profile, Stage};
use serde::{Deserialize, Serialize};

use crate::model::threshold::Threshold;
use crate::Error;

/// Iterations run when neither `repeat` nor `duration` is given: enough for
/// a p95 to mean something, few enough for a quick `cargo test`.
pub const DEFAULT_REPEAT: u64 = 100;

/// The worker pool of an open-model run when `workers` is not given (k6
/// makes you choose `preAllocatedVUs`; this default suits services that
/// answer within `100 / rate` seconds; more is dropped and reported).
pub const DEFAULT_OPEN_POOL: usize = 100;

/// When the measured phase ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    /// After this many iterations in total (shared by all workers).
    Repeat(u64),
    /// When this much time has passed; iterations in flight then finish.
    Duration(Duration),
}

/// Iterations run before measuring, not recorded. The warm-up always runs
/// closed-model on the worker pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Warmup {
    /// This many iterations (shared by all workers).
    Iterations(u64),
    /// For this long.
    Time(Duration),
}

impl From<u64> for Warmup {
    fn from(n: u64) -> Self {
        Warmup::Iterations(n)
    }
}

impl From<Duration> for Warmup {
    fn from(d: Duration) -> Self {
        Warmup::Time(d)
    }
}

/// The load shape a run actually used (after environment overrides).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(into = "LoadShapeJson", try_from = "LoadShapeJson")]
pub struct LoadShape {
    /// Concurrent workers (closed model), the pool (open model), or the
    /// starting number of workers (closed model with stages).
    pub workers: usize,
    /// When the measured phase ends (the base duration of a profile).
    pub stop: Stop,
    /// Open model: iterations per second (the start of a ramp, the base of
    /// a profile).
    pub rate: Option<f64>,
    /// Ramp targets: iterations/s with a `rate`, active workers without.
    pub stages: Vec<Stage>,
    /// A capacity-planning profile, relative to `rate` and `duration`.
    pub profile: Option<Profile>,
    /// Warm-up before measuring.
    pub warmup: Option<Warmup>,
    /// Limit on the whole run (warm-up included).
    pub timeout: Option<Duration>,
    /// Limit on each iteration.
    pub iteration_timeout: Option<Duration>,
    /// Stop early when a threshold breaks, after this grace period.
    pub abort_on_fail: Option<Duration>,
    /// Threads of the test's tokio runtime.
    pub worker_threads: usize,
    /// The environment overrides applied, as `VAR=value`.
    pub overrides: Vec<String>,
    /// The shard this load is one part of, in a distributed run.
    pub shard: Option<crate::model::shard::Shard>,
    /// `repeat = "auto"`: stop when every threshold is conclusive.
    pub auto: Option<Auto>,
    /// Whether closed-model samples may cover several iterations (bodies
    /// far below a microsecond).
    pub batch: Batch,
    /// Processes sampled beside the test's own (`monitor = "name:…"`,
    /// `PERF_MONITOR`).
    pub monitor: Vec<perf_spec::Monitor>,
    /// `cpu_profile`: profile the measured phase at this many samples per
    /// second of CPU (`PERF_CPU_PROFILE`).
    pub cpu_profile: Option<u32>,
    /// `heap_profile`: sample allocations with their stacks, one per this
    /// many bytes on average (`PERF_HEAP_PROFILE`, `PERF_HEAP_PROFILE_RATE`).
    pub heap_profile: Option<u64>,
}

pub use crate::model::batch::{Batch, MAX_BATCH};

impl Default for LoadShape {
    fn default() -> Self {
        LoadShape {
            workers: 1,
            stop: Stop::Repeat(DEFAULT_REPEAT),
            rate: None,
            stages: Vec::new(),
            profile: None,
            warmup: None,
            timeout: None,
            iteration_timeout: None,
            abort_on_fail: None,
            worker_threads: std::thread::available_parallelism().map_or(1, usize::from),
            overrides: Vec::new(),
            shard: None,
            auto: None,
            batch: Batch::Auto,
            monitor: Vec::new(),
            cpu_profile: None,
            heap_profile: None,
        }
    }
}

/// Iterations a `repeat = "auto"` run stops at if its thresholds are
/// still inconclusive (`max_repeat` sets another).
pub const DEFAULT_MAX_REPEAT: u64 = 100_000;

/// `repeat = "auto"`: the measured phase iterates until every threshold is
/// conclusive (see [`crate::stats`]), up to these caps and `timeout`. The
/// run's [`Stop`] is `Repeat(max_repeat)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Auto {
    /// The longest the measured phase may last (`duration` beside
    /// `repeat = "auto"`).
    pub max_duration: Option<Duration>,
}

/// How iterations are started.
pub(crate) enum Model {
    /// Workers pull iterations; with stages, the active workers ramp.
    Closed { stages: Vec<Stage> },
    /// Iterations arrive at a piecewise-linear rate.
    Open { start_rate: f64, stages: Vec<Stage> },
}

impl LoadShape {
    pub(crate) fn is_open(&self) -> bool {
        self.rate.is_some()
    }

    pub(crate) fn model(&self) -> Model {
        let Some(rate) = self.rate else {
            return Model::Closed {
                stages: self.stages.clone(),
            };
        };
        let base = match self.stop {
            Stop::Duration(d) => d,
            Stop::Repeat(_) => Duration::ZERO,
        };
        let (start_rate, stages) = match self.profile {
            Some(profile) => profile.stages(rate, base),
            None if !self.stages.is_empty() => (rate, self.stages.clone()),
            None => (
                rate,
                vec![Stage {
                    name: None,
                    duration: base,
                    target: rate,
                }],
            ),
        };
        Model::Open { start_rate, stages }
    }

    /// How long the measured phase is planned to last, if it is timed.
    pub fn planned_length(&self) -> Option<Duration> {
        if !self.stages.is_empty() {
            return Some(stages_duration(&self.stages));
        }
        match self.stop {
            Stop::Duration(d) => Some(self.profile.map_or(d, |p| p.run_length(d))),
            Stop::Repeat(_) => None,
        }
    }

    /// Tasks to start: the workers, or the largest number a ramp reaches.
    pub(crate) fn pool_size(&self) -> usize {
        if self.is_open() {
            return self.workers;
        }
        let peak = self
            .stages
            .iter()
            .map(|s| s.target.ceil() as usize)
            .max()
            .unwrap_or(0);
        self.workers.max(peak)
    }

    /// Checks the shape and the thresholds against it.
    pub(crate) fn validate(&self, thresholds: &[Threshold]) -> Result<(), Error> {
        let bad = |m: String| Err(Error::Config(m));
        let from_env = if self.overrides.is_empty() {
            String::new()
        } else {
            format!(" (after {})", self.overrides.join(", "))
        };
        if self.workers == 0 {
            return bad(format!("`workers` must be at least 1{from_env}"));
        }
        if self.worker_threads == 0 {
            return bad("`worker_threads` must be at least 1".into());
        }
        if self.workers as u64 > perf_spec::MAX_WORKERS {
            return bad(format!(
                "`workers = {}` is over the limit of {} workers (use shards){from_env}",
                self.workers,
                perf_spec::MAX_WORKERS
            ));
        }
        if self.worker_threads as u64 > perf_spec::MAX_WORKER_THREADS {
            return bad(format!(
                "`worker_threads = {}` is over the limit of {} threads",
                self.worker_threads,
                perf_spec::MAX_WORKER_THREADS
            ));
        }
        match self.stop {
            Stop::Repeat(0) => return bad("`repeat` must be at least 1".into()),
            Stop::Duration(d) if d.is_zero() => {
                return bad("`duration` must be longer than zero".into())
            }
            _ => {}
        }
        if self.auto.is_some() {
            if self.is_open() || !self.stages.is_empty() {
                return bad(format!(
                    "`repeat = \"auto\"` is for closed-model runs without `stages`: an open-model or staged run's length is its time{from_env}"
                ));
            }
            if !matches!(self.stop, Stop::Repeat(_)) {
                return bad(format!(
                    "`repeat = \"auto\"` stops at a count (`max_repeat`){from_env}"
                ));
            }
            if self
                .auto
                .and_then(|a| a.max_duration)
                .is_some_and(|d| d.is_zero())
            {
                return bad("`duration` must be longer than zero".into());
            }
            let judged = thresholds.iter().any(Threshold::judged_by_looks);
            if !judged {
                return bad(format!(
                    "`repeat = \"auto\"` iterates until every threshold is conclusive, and this test has no threshold \
                     the looks can settle (a percentile, the mean, a rate or throughput over the whole run): add one, e.g. `p95 < \"200ms\"`{from_env}"
                ));
            }
        }
        if !self.stages.is_empty() {
            perf_spec::check_stages(&self.stages).or_else(bad)?;
        }
        if let Some(rate) = self.rate {
            if !rate.is_finite() || rate < 0.0 || (rate == 0.0 && self.stages.is_empty()) {
                return bad(format!("`rate` must be a positive number of iterations per second, got {rate}{from_env}"));
            }
            if self.stages.is_empty() && matches!(self.stop, Stop::Repeat(_)) {
                return bad(format!(
                    "`rate` needs a `duration` or `stages`: an open-model run lasts a time{from_env}"
                ));
            }
        }
        if let Some(p) = self.profile {
            if self.rate.is_none()
                || !self.stages.is_empty()
                || !matches!(self.stop, Stop::Duration(_))
            {
                return bad(format!("profile `{p}` scales `rate` over `duration`: set both, and no `stages`{from_env}"));
            }
        }
        let warmup = match self.warmup {
            Some(Warmup::Iterations(0)) => {
                return bad("`warmup` must be at least 1 iteration".into())
            }
            Some(Warmup::Time(d)) if d.is_zero() => {
                return bad("`warmup` must be longer than zero".into())
            }
            Some(Warmup::Time(d)) => d,
            _ => Duration::ZERO,
        };
        for (key, d) in [
            ("timeout", self.timeout),
            ("iteration_timeout", self.iteration_timeout),
        ] {
            if d.is_some_and(|d| d.is_zero()) {
                return bad(format!("`{key}` must be longer than zero"));
            }
        }
        let planned = self.planned_length();
        if let (Some(t), Some(run)) = (self.timeout, planned) {
            if t <= run + warmup {
                return bad(format!(
                    "`timeout` ({}) is not longer than the planned run ({}){from_env}: the test could never finish",
                    format_duration(t),
                    format_duration(run + warmup)
                ));
            }
        }
        let specs: Vec<_> = thresholds.iter().map(|t| t.0).collect();
        for spec in &specs {
            spec.check()
                .or_else(|m| bad(format!("threshold `{spec}`: {m}")))?;
            if matches!(spec.metric, Metric::Dropped | Metric::DroppedRate) && !self.is_open() {
                return bad(format!(
                    "threshold `{spec}` needs an open-model run (`rate`)"
                ));
            }
            if let (Some(w), Some(run)) = (spec.window, planned) {
                if w > run {
                    return bad(format!(
                        "threshold `{spec}`: the window is longer than the run ({}){from_env}",
                        format_duration(run)
                    ));
                }
            }
        }
        if let Some((_, message)) = perf_spec::check_consistency(&specs).into_iter().next() {
            return bad(message);
        }
        crate::model::phase::check(&specs, &self.stages).or_else(bad)
    }
}

/// The JSON form of [`LoadShape`]: flat, durations in nanoseconds.
#[derive(Serialize, Deserialize)]
struct LoadShapeJson {
    model: String,
    workers: usize,
    repeat: Option<u64>,
    duration_ns: Option<u64>,
    #[serde(default)]
    rate: Option<f64>,
    #[serde(default)]
    stages: Vec<StageJson>,
    #[serde(default)]
    profile: Option<String>,
    warmup_iterations: Option<u64>,
    warmup_ns: Option<u64>,
    timeout_ns: Option<u64>,
    iteration_timeout_ns: Option<u64>,
    #[serde(default)]
    abort_on_fail_grace_ns: Option<u64>,
    worker_threads: usize,
    overrides: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    shard: Option<crate::model::shard::Shard>,
    /// `repeat = "auto"` (then `repeat` is its `max_repeat`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    auto: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    auto_max_duration_ns: Option<u64>,
    /// Iterations per sample asked for: absent is `auto`, 1 is `off`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    batch: Option<u64>,
    /// Monitored processes, as written (`pid:1234`, `name:orders-fn`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    monitor: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    cpu_profile_hz: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    heap_profile_rate: Option<u64>,
}

#[derive(Serialize, Deserialize)]
struct StageJson {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    name: Option<String>,
    duration_ns: u64,
    target: f64,
}

fn ns(d: Duration) -> u64 {
    d.as_nanos() as u64
}

impl From<LoadShape> for LoadShapeJson {
    fn from(l: LoadShape) -> Self {
        let (repeat, duration_ns) = match l.stop {
            Stop::Repeat(n) => (Some(n), None),
            Stop::Duration(d) => (None, Some(ns(d))),
        };
        let (warmup_iterations, warmup_ns) = match l.warmup {
            None => (None, None),
            Some(Warmup::Iterations(n)) => (Some(n), None),
            Some(Warmup::Time(d)) => (None, Some(ns(d))),
        };
        LoadShapeJson {
            model: if l.is_open() { "open" } else { "closed" }.into(),
            workers: l.workers,
            repeat,
            duration_ns,
            rate: l.rate,
            stages: l
                .stages
                .iter()
                .map(|s| StageJson {
                    name: s.name.map(str::to_owned),
                    duration_ns: ns(s.duration),
                    target: s.target,
                })
                .collect(),
            profile: l.profile.map(|p| p.to_string()),
            warmup_iterations,
            warmup_ns,
            timeout_ns: l.timeout.map(ns),
            iteration_timeout_ns: l.iteration_timeout.map(ns),
            abort_on_fail_grace_ns: l.abort_on_fail.map(ns),
            worker_threads: l.worker_threads,
            overrides: l.overrides,
            shard: l.shard,
            auto: l.auto.is_some(),
            auto_max_duration_ns: l.auto.and_then(|a| a.max_duration).map(ns),
            batch: match l.batch {
                Batch::Auto => None,
                Batch::Off => Some(1),
                Batch::Fixed(k) => Some(k),
            },
            monitor: l.monitor.iter().map(ToString::to_string).collect(),
            cpu_profile_hz: l.cpu_profile,
            heap_profile_rate: l.heap_profile,
        }
    }
}

impl TryFrom<LoadShapeJson> for LoadShape {
    type Error = String;
    fn try_from(j: LoadShapeJson) -> Result<Self, String> {
        let stop = match (j.repeat, j.duration_ns) {
            (Some(n), None) => Stop::Repeat(n),
            (None, Some(d)) => Stop::Duration(Duration::from_nanos(d)),
            _ => return Err("load shape needs exactly one of `repeat` and `duration_ns`".into()),
        };
        let warmup = match (j.warmup_iterations, j.warmup_ns) {
            (None, None) => None,
            (Some(n), None) => Some(Warmup::Iterations(n)),
            (None, Some(d)) => Some(Warmup::Time(Duration::from_nanos(d))),
            _ => return Err("load shape has both `warmup_iterations` and `warmup_ns`".into()),
        };
        let profile = match j.profile {
            None => None,
            Some(name) => {
                Some(Profile::from_name(&name).ok_or_else(|| format!("unknown profile `{name}`"))?)
            }
        };
        Ok(LoadShape {
            workers: j.workers,
            stop,
            rate: j.rate,
            stages: j
                .stages
                .into_iter()
                .map(|s| Stage {
                    name: s.name.as_deref().map(crate::model::saved_threshold::intern),
                    duration: Duration::from_nanos(s.duration_ns),
                    target: s.target,
                })
                .collect(),
            profile,
            warmup,
            timeout: j.timeout_ns.map(Duration::from_nanos),
            iteration_timeout: j.iteration_timeout_ns.map(Duration::from_nanos),
            abort_on_fail: j.abort_on_fail_grace_ns.map(Duration::from_nanos),
            worker_threads: j.worker_threads,
            overrides: j.overrides,
            shard: j.shard,
            auto: j.auto.then(|| Auto {
                max_duration: j.auto_max_duration_ns.map(Duration::from_nanos),
            }),
            batch: match j.batch {
                None => Batch::Auto,
                Some(0 | 1) => Batch::Off,
                Some(k) => Batch::Fixed(k.min(MAX_BATCH)),
            },
            monitor: if j.monitor.is_empty() {
                Vec::new()
            } else {
                perf_spec::Monitor::parse_list(&j.monitor.join(","))?
            },
            cpu_profile: j
                .cpu_profile_hz
                .map(|hz| hz.clamp(1, crate::model::profile::MAX_PROFILE_HZ)),
            heap_profile: j.heap_profile_rate.map(|r| r.max(1)),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_batch_setting_survives_the_json() {
        for batch in [Batch::Auto, Batch::Off, Batch::Fixed(32)] {
            let load = LoadShape {
                batch,
                ..LoadShape::default()
            };
            let json = serde_json::to_string(&load).unwrap();
            let back: LoadShape = serde_json::from_str(&json).unwrap();
            assert_eq!(back.batch, batch, "{json}");
        }
    }
}
