//! Shards as data: which part of a distributed test a run is, its share
//! of the declared load, and the result it hands to the merge (every
//! histogram serialised, counts, errors, timeline, memory figures, the
//! declared load and thresholds). Reading the shard from the environment
//! and result files are [`crate::io::shard_file`]'s; the merge is
//! [`crate::distributed::merge`]'s.

use std::collections::BTreeMap;
use std::time::UNIX_EPOCH;

use hdrhistogram::{Counter, Histogram};
use serde::{Deserialize, Serialize};

use crate::model::after::AfterRun;
use crate::model::error::Error;
use crate::model::load::{LoadShape, Stop};
use crate::model::measured::{ErrorCount, ErrorSample, Measured, Recorded};
use crate::model::memory::MemoryStats;
use crate::model::report::WarmupStats;
use crate::model::threshold::Threshold;

pub use crate::model::saved_threshold::{SavedMetric, SavedThreshold};

/// `format` of a shard result file.
pub const SHARD_FORMAT: &str = "perf-runtime-shard";
/// Version of the shard result's schema.
pub const SHARD_SCHEMA_VERSION: u32 = 1;

/// One shard of `total`, `index` from 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Shard {
    /// 1-based.
    pub index: u32,
    /// How many shards in all.
    pub total: u32,
}

impl std::fmt::Display for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.total)
    }
}

impl Shard {
    /// Shard `index` (1-based) of `total`.
    pub fn new(index: u32, total: u32) -> Result<Shard, String> {
        if total == 0 || index == 0 || index > total {
            return Err(format!(
                "shard {index}/{total}: the index runs from 1 to the total, which is at least 1"
            ));
        }
        Ok(Shard { index, total })
    }

    /// This shard's share of `n` whole things: `n / total`, plus one for
    /// the first `n % total` shards. The shares of all shards add up to `n`.
    pub fn share(self, n: u64) -> u64 {
        let total = u64::from(self.total);
        n / total + u64::from(u64::from(self.index - 1) < n % total)
    }

    /// This shard's part of `load` (see the [module docs](crate::shard)).
    pub fn split(self, load: &LoadShape) -> Result<LoadShape, Error> {
        let mut part = load.clone();
        let n = f64::from(self.total);
        part.workers = (self.share(load.workers as u64) as usize).max(1);
        if let Stop::Repeat(r) = load.stop {
            if r < u64::from(self.total) {
                return Err(Error::Config(format!(
                    "repeat = {r} cannot be split into {} shards: every shard needs at least one iteration",
                    self.total
                )));
            }
            part.stop = Stop::Repeat(self.share(r));
        }
        part.rate = load.rate.map(|r| r / n);
        let open = load.rate.is_some();
        for stage in &mut part.stages {
            stage.target = if open {
                stage.target / n
            } else {
                self.share(stage.target.round() as u64) as f64
            };
        }
        part.overrides.push(format!("shard {self}"));
        part.shard = Some(self);
        Ok(part)
    }

    /// A seed of this shard's own, derived from `base` (SplitMix64 of the
    /// base and the index): the same on every run, different per shard.
    pub fn seed(self, base: u64) -> u64 {
        let mut z = base ^ u64::from(self.index).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

/// Everything one shard measured, as written to its result file.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ShardResult {
    /// Always [`SHARD_FORMAT`].
    pub format: String,
    /// [`SHARD_SCHEMA_VERSION`].
    pub schema_version: u32,
    /// The test's full name.
    pub name: String,
    /// Which shard.
    pub shard: Shard,
    /// Where it ran: host name and process id.
    pub origin: String,
    /// The load declared for the whole test (after overrides).
    pub declared: LoadShape,
    /// This shard's part of it.
    pub load: LoadShape,
    /// The test's thresholds, evaluated on the merged result.
    pub thresholds: Vec<SavedThreshold>,
    /// The test's baseline and publishing settings, applied to the merged
    /// result (absent in results written before they were carried).
    #[serde(default)]
    pub after: AfterRun,
    /// How the merged result's thresholds are judged.
    #[serde(default)]
    pub judging: crate::model::threshold::Judging,
    /// Start of the measured phase, nanoseconds since the Unix epoch.
    pub started_at_unix_ns: u64,
    /// Length of the measured phase, in nanoseconds.
    pub elapsed_ns: u64,
    /// The shard's whole-run timeout expired.
    pub timed_out: bool,
    /// Why `abort_on_fail` stopped the shard.
    pub aborted: Option<String>,
    /// `SIGINT` or `SIGTERM` stopped the shard (Kubernetes evicts with
    /// `SIGTERM`): its figures are what it measured until then.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub interrupted: bool,
    /// Open model: arrivals the shard's generator could not start.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub unscheduled: u64,
    /// Closed model: samples covered several iterations each.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub batching: Option<crate::model::measured::Batching>,
    /// Built with debug assertions.
    pub debug_build: bool,
    /// The warm-up's counts.
    pub warmup: Option<WarmupStats>,
    /// Memory figures, with the tracking allocator.
    pub memory: Option<MemoryStats>,
    /// What the shard's process (and those it monitored) used.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<crate::model::resources::Resources>,
    /// The recorded data.
    pub data: RecordedData,
    /// Where it was read from (not serialised).
    #[serde(skip)]
    pub source: Option<String>,
}

/// A histogram, HdrHistogram V2 + DEFLATE, base64.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct EncodedHistogram(pub String);

impl EncodedHistogram {
    /// Encodes a histogram.
    pub fn encode<T: Counter>(h: &Histogram<T>) -> EncodedHistogram {
        EncodedHistogram(crate::model::codec::encode(h))
    }

    /// Decodes it (auto-resizing), within the codec's bounds.
    pub fn decode<T: Counter>(&self) -> Result<Histogram<T>, String> {
        crate::model::codec::decode(&self.0)
    }
}

/// The recorded data of a shard, losslessly.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RecordedData {
    /// Latency of every measured iteration (3 significant digits).
    pub histogram: EncodedHistogram,
    /// Open model: service time.
    pub service: Option<EncodedHistogram>,
    /// Open model: how late each iteration began (absent from shard files
    /// written before it was kept).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_delay: Option<EncodedHistogram>,
    /// Seconds of the measured phase, from its start.
    pub timeline: Vec<SecondData>,
    /// Measured iterations.
    pub iterations: u64,
    /// Failed iterations.
    pub errors: u64,
    /// Of which timed out.
    pub timeouts: u64,
    /// Of which panicked.
    pub panics: u64,
    /// Latencies clamped to an hour.
    pub saturated: u64,
    /// Open model: dropped iterations.
    pub dropped: u64,
    /// Errors by kind and message.
    pub error_counts: Vec<ErrorCount>,
    /// The first errors.
    pub first_errors: Vec<ErrorSample>,
    /// Failed iterations by class.
    pub classes: BTreeMap<String, u64>,
    /// Tagged iterations.
    pub tags: BTreeMap<String, TagData>,
    /// Custom metrics.
    pub custom: BTreeMap<String, CustomData>,
}

/// One second of a shard's timeline.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SecondData {
    /// Latency (2 significant digits).
    pub latency: EncodedHistogram,
    /// Iterations ended in it.
    pub iterations: u64,
    /// Of which failed.
    pub errors: u64,
    /// Dropped in it.
    pub dropped: u64,
}

/// A tag's iterations.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TagData {
    /// Their latency.
    pub latency: EncodedHistogram,
    /// Of which failed.
    pub errors: u64,
}

/// A custom metric's values.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CustomData {
    /// `value`, `duration` or `count`.
    pub kind: String,
    /// Values recorded.
    pub count: u64,
    /// Their sum.
    pub sum: f64,
    /// Smallest.
    pub min: f64,
    /// Largest.
    pub max: f64,
    /// Durations: their histogram.
    pub histogram: Option<EncodedHistogram>,
    /// The squared deviations from their mean (for the mean's interval).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub m2: Option<f64>,
}

impl RecordedData {
    pub(crate) fn of(r: &Recorded) -> RecordedData {
        RecordedData {
            histogram: EncodedHistogram::encode(&r.histogram),
            service: r.service.as_ref().map(EncodedHistogram::encode),
            start_delay: r.start_delay.as_ref().map(EncodedHistogram::encode),
            timeline: r
                .timeline
                .seconds()
                .iter()
                .map(|s| SecondData {
                    latency: EncodedHistogram::encode(&s.latency),
                    iterations: s.iterations,
                    errors: s.errors,
                    dropped: s.dropped,
                })
                .collect(),
            iterations: r.iterations,
            errors: r.errors,
            timeouts: r.timeouts,
            panics: r.panics,
            saturated: r.saturated,
            dropped: r.dropped,
            error_counts: r.error_counts.clone(),
            first_errors: r.first_errors.clone(),
            classes: r.classes.clone(),
            tags: r
                .tags
                .iter()
                .map(|(k, t)| {
                    let data = TagData {
                        latency: EncodedHistogram::encode(&t.latency),
                        errors: t.errors,
                    };
                    (k.clone(), data)
                })
                .collect(),
            custom: r
                .custom
                .iter()
                .map(|(k, c)| {
                    let data = CustomData {
                        kind: c.kind.to_owned(),
                        count: c.count,
                        sum: c.sum,
                        min: c.min,
                        max: c.max,
                        histogram: c.histogram.as_ref().map(EncodedHistogram::encode),
                        m2: c.m2,
                    };
                    (k.clone(), data)
                })
                .collect(),
        }
    }
}

impl ShardResult {
    pub(crate) fn new(
        name: &str,
        shard: Shard,
        declared: &LoadShape,
        load: &LoadShape,
        thresholds: &[Threshold],
        debug_build: bool,
        m: &Measured,
    ) -> ShardResult {
        ShardResult {
            format: SHARD_FORMAT.into(),
            schema_version: SHARD_SCHEMA_VERSION,
            name: name.to_owned(),
            shard,
            origin: String::new(),
            declared: declared.clone(),
            load: load.clone(),
            thresholds: thresholds.iter().map(SavedThreshold::save).collect(),
            after: AfterRun::default(),
            judging: Default::default(),
            started_at_unix_ns: m
                .started_at
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos() as u64),
            elapsed_ns: m.elapsed.as_nanos() as u64,
            timed_out: m.timed_out,
            aborted: m.aborted.clone(),
            interrupted: m.interrupted,
            unscheduled: m.unscheduled,
            batching: m.batching,
            debug_build,
            warmup: m.warmup.as_ref().map(|w| WarmupStats {
                iterations: w.iterations,
                errors: w.errors,
            }),
            memory: m.memory.clone(),
            resources: m.resources.clone(),
            data: RecordedData::of(&m.main),
            source: None,
        }
    }

    pub(crate) fn name_for_errors(&self) -> String {
        self.source
            .clone()
            .unwrap_or_else(|| format!("shard {}", self.shard))
    }
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn shares_add_up_to_the_declared_load() {
        for total in 1..=9u32 {
            for n in [0u64, 1, 7, 10, 100, 1001] {
                let shares: Vec<u64> = (1..=total)
                    .map(|i| Shard::new(i, total).unwrap().share(n))
                    .collect();
                assert_eq!(shares.iter().sum::<u64>(), n, "{n} over {total}");
                assert!(shares.windows(2).all(|w| w[0] >= w[1] && w[0] - w[1] <= 1));
            }
        }
        let load = LoadShape {
            workers: 10,
            stop: Stop::Repeat(1001),
            rate: Some(300.0),
            stages: vec![perf_spec::Stage {
                name: None,
                duration: Duration::from_secs(5),
                target: 600.0,
            }],
            ..LoadShape::default()
        };
        let parts: Vec<LoadShape> = (1..=4)
            .map(|i| Shard::new(i, 4).unwrap().split(&load).unwrap())
            .collect();
        let repeat: u64 = parts
            .iter()
            .map(|p| match p.stop {
                Stop::Repeat(r) => r,
                _ => unreachable!(),
            })
            .sum();
        assert_eq!(repeat, 1001);
        assert_eq!(parts.iter().map(|p| p.workers).sum::<usize>(), 10);
        assert_eq!(parts.iter().map(|p| p.rate.unwrap()).sum::<f64>(), 300.0);
        assert_eq!(parts.iter().map(|p| p.stages[0].target).sum::<f64>(), 600.0);
        let err = Shard::new(1, 8)
            .unwrap()
            .split(&LoadShape {
                stop: Stop::Repeat(5),
                ..LoadShape::default()
            })
            .unwrap_err();
        assert!(
            err.to_string()
                .contains("repeat = 5 cannot be split into 8 shards"),
            "{err}"
        );
    }

    #[test]
    fn seeds_differ_per_shard_and_repeat_per_run() {
        let seeds: Vec<u64> = (1..=8)
            .map(|i| Shard::new(i, 8).unwrap().seed(42))
            .collect();
        let mut unique = seeds.clone();
        unique.sort_unstable();
        unique.dedup();
        assert_eq!(unique.len(), 8);
        assert_eq!(Shard::new(3, 8).unwrap().seed(42), seeds[2]);
    }
}
