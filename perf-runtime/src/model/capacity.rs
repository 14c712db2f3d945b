//! A capacity search: what it is asked ([`Capacity`]), what each step
//! found ([`CapacityStep`]), and the answer ([`CapacityResult`], the
//! report's `capacity` object).

use std::ops::RangeInclusive;
use std::time::Duration;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

pub use perf_spec::CapacityAxis;

/// The open-model search of the highest arrival rate a system holds
/// within the test's thresholds: `PerfTest::new(..).capacity(Capacity::rate(50..=20_000))`.
///
/// It climbs geometrically from the low end of the range ([`step`](Self::step),
/// ×1.5 by default), holding each rate for [`hold`](Self::hold), until a
/// step breaks a threshold; then it bisects between the last rate that
/// held and the first that broke until they are within
/// [`precision`](Self::precision) of each other. Each step is judged on its
/// own samples, after a warm-up share of its hold ([`warmup`](Self::warmup)).
#[derive(Debug, Clone, PartialEq)]
pub struct Capacity(pub(crate) perf_spec::CapacitySettings);

impl Capacity {
    /// Rates (per second) from `range.start()` to `range.end()`:
    /// `Capacity::rate(50..=20_000)` or `Capacity::rate(0.5..=20.0)`.
    pub fn rate<T: Into<f64> + Copy>(range: RangeInclusive<T>) -> Capacity {
        Capacity(perf_spec::CapacitySettings::rate(
            (*range.start()).into(),
            (*range.end()).into(),
        ))
    }

    /// Numbers of workers from `range.start()` to `range.end()`: the
    /// closed model's search of the highest concurrency the system holds
    /// within the thresholds (for Lambda reserved concurrency, or a
    /// connection pool's size). Each step reports its throughput, and
    /// throughput × mean latency ≈ workers (Little's law) shows the
    /// workers were busy, not waiting on the generator.
    pub fn workers(range: RangeInclusive<u32>) -> Capacity {
        Capacity(perf_spec::CapacitySettings::workers(
            *range.start(),
            *range.end(),
        ))
    }

    /// What the search varies.
    pub fn axis(&self) -> CapacityAxis {
        self.0.axis
    }

    /// How long each rate is held (default 10 s; at least 1 s).
    pub fn hold(mut self, d: Duration) -> Capacity {
        self.0.hold = d;
        self
    }

    /// The climb's factor from one rate to the next (default 1.5).
    pub fn step(mut self, factor: f64) -> Capacity {
        self.0.step = factor;
        self
    }

    /// The bisection stops when the rate that held and the one that broke
    /// are within this share of each other (default 0.05: 5%).
    pub fn precision(mut self, share: f64) -> Capacity {
        self.0.precision = share;
        self
    }

    /// The share of each hold not judged, so that queues left by the
    /// previous step drain first (default 0.2).
    pub fn warmup(mut self, share: f64) -> Capacity {
        self.0.warmup = share;
        self
    }

    /// What is wrong with these settings, if anything.
    pub(crate) fn check(&self) -> Result<(), String> {
        self.0.check().map_err(|(_, why)| why)
    }

    /// The warm-up and the judged part of each step.
    pub(crate) fn phases(&self) -> (Duration, Duration) {
        let warmup = self.0.hold.mul_f64(self.0.warmup);
        (warmup, self.0.hold - warmup)
    }
}

/// How a step ended.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum StepOutcome {
    /// Every threshold held.
    Held,
    /// A threshold broke: the system under test did not hold this rate.
    Broke {
        /// The first threshold that broke, as written.
        threshold: String,
        /// What was observed.
        observed: String,
    },
    /// The load generator could not produce this rate: the step says
    /// nothing about the system under test.
    GeneratorLimited {
        /// Why.
        reason: String,
    },
}

/// One step of the search.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CapacityStep {
    /// The arrival rate offered, per second (a search over workers: the
    /// number of workers).
    pub offered: f64,
    /// Iterations completed per second in the judged part.
    pub achieved: f64,
    /// Iterations judged.
    pub iterations: u64,
    /// Arrivals dropped (no free worker).
    pub dropped: u64,
    /// Latency percentiles (from the scheduled start), nanoseconds.
    pub p50_ns: u64,
    /// p95.
    pub p95_ns: u64,
    /// p99.
    pub p99_ns: u64,
    /// The mean latency, nanoseconds (0 in reports written before it was
    /// kept).
    #[serde(default)]
    pub mean_ns: u64,
    /// Failed iterations over iterations.
    pub error_rate: f64,
    /// p95 of how late iterations began, nanoseconds.
    pub start_delay_p95_ns: Option<u64>,
    /// The generator's CPU, as a share of its cores, when sampled.
    pub cpu: Option<f64>,
    /// How it ended.
    #[serde(flatten)]
    pub outcome: StepOutcome,
}

/// What a capacity search found (the report's `capacity`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CapacityResult {
    /// What the search varied: `"rate"` (per second) or `"workers"`.
    #[serde(default, serialize_with = "axis_out", deserialize_with = "axis_in")]
    pub axis: CapacityAxis,
    /// The highest rate (or number of workers) that held (`None`: none
    /// did).
    pub capacity: Option<f64>,
    /// Whether `capacity` is only a lower bound: the search stopped at
    /// the top of the range, at the generator's limit, or at the timeout.
    pub at_least: bool,
    /// The lowest rate that broke, and the threshold that broke it.
    pub first_broken: Option<f64>,
    /// That threshold, as written.
    pub broken_by: Option<String>,
    /// Why the generator could not go on, if that stopped the search.
    pub generator_limited: Option<String>,
    /// The lowest rate whose p95 is over twice the lowest step's: where
    /// it starts to hurt.
    pub knee: Option<f64>,
    /// The range searched.
    pub range: (f64, f64),
    /// Every step, in the order run.
    pub steps: Vec<CapacityStep>,
    /// The search's answer in one line.
    pub verdict: String,
}

fn axis_out<S: Serializer>(a: &CapacityAxis, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(a.name())
}

fn axis_in<'de, D: Deserializer<'de>>(d: D) -> Result<CapacityAxis, D::Error> {
    let name = String::deserialize(d)?;
    [CapacityAxis::Rate, CapacityAxis::Workers]
        .into_iter()
        .find(|a| a.name() == name)
        .ok_or_else(|| {
            serde::de::Error::custom(format!(
                "capacity axis {name:?}: expected \"rate\" or \"workers\""
            ))
        })
}
