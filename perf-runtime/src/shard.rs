//! Distributed load: one perf test run as `N` shards on as many machines
//! (Kubernetes Indexed Jobs, AWS Batch array jobs, Lambda fan-out), and the
//! lossless merge of their results.
//!
//! # Which shard am I
//!
//! | variables | shard |
//! |---|---|
//! | `PERF_SHARD=2/8` | 2 of 8 (1-based) |
//! | `PERF_SHARDS=8` and `JOB_COMPLETION_INDEX=1` | 2 of 8 (Kubernetes Indexed Job; the index is 0-based) |
//! | `PERF_SHARDS=8` and `AWS_BATCH_JOB_ARRAY_INDEX=1` | 2 of 8 (AWS Batch array job; 0-based) |
//!
//! Neither Kubernetes nor AWS Batch tells a job how many siblings it has,
//! so `PERF_SHARDS` carries the total; the index variables are only read
//! when it is set.
//!
//! # What a shard runs
//!
//! Its share of the declared load, so that the shards together produce
//! exactly that load ([`Shard::split`]): `repeat` and the workers are
//! divided with the remainder going to the first shards (10 over 4 shards:
//! 3, 3, 2, 2); arrival rates and rate stage targets are divided exactly
//! (`rate / N`); worker stage targets like `repeat`. Each shard keeps at
//! least one worker, so a closed-model test with a `duration` and fewer
//! workers than shards runs more than declared. `repeat` smaller than the
//! number of shards is an error. Warm-up runs on each shard in full (every
//! machine warms its own connections).
//!
//! `PERF_START_AT` (Unix seconds, fractions allowed) makes every shard wait
//! for a common start, so arrival-rate schedules and per-second windows
//! line up; each shard's timeline is placed on the merged one by its actual
//! start, to the nearest second. [`Shard::seed`] gives each shard its own
//! seed for anything random.
//!
//! # Results and merge
//!
//! A shard writes a [`ShardResult`] (every histogram serialised, counts,
//! error classes and first messages, the per-second timeline, memory
//! figures, its identity, the declared load and thresholds) next to its
//! report (`<test>.shard-2-of-8.json`) and, with `PERF_RESULTS`, to that
//! directory or `s3://bucket/prefix/` (feature `s3`). It does not judge the
//! thresholds: [`merge`] adds the histograms (never averaging
//! percentiles), checks that shards 1..N are each there exactly once, and
//! builds the same [`Report`] a single machine would have, on which the
//! thresholds are evaluated once. `perf-report merge` does that from the
//! command line.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use hdrhistogram::{Counter, Histogram};
use serde::{Deserialize, Serialize};

use crate::after::AfterRun;
use crate::load::{LoadShape, Stop};
use crate::memory::{LeakVerdict, MemoryStats};
use crate::recorder::{new_histogram, CustomAgg, ErrorCount, ErrorSample, Recorded, TagAgg};
use crate::report::{Report, WarmupStats};
use crate::scheduler::Measured;
use crate::threshold::Threshold;
use crate::timeline::{Second, Timeline};
use crate::Error;

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

    /// The shard this process runs, from the environment (see the
    /// [module docs](self)); `None` when it is not sharded.
    pub fn from_env() -> Result<Option<Shard>, Error> {
        Shard::from_lookup(&crate::env::process)
    }

    pub(crate) fn from_lookup(
        get: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Option<Shard>, Error> {
        let get = |k: &str| get(k).filter(|v| !v.trim().is_empty());
        let bad = |var: &str, value: String, reason: &str| Error::Env {
            var: var.to_owned(),
            value,
            reason: reason.to_owned(),
        };
        if let Some(value) = get("PERF_SHARD") {
            let parsed = value.trim().split_once('/').and_then(|(i, n)| {
                Some((i.trim().parse::<u32>().ok()?, n.trim().parse::<u32>().ok()?))
            });
            let Some((index, total)) = parsed else {
                return Err(bad(
                    "PERF_SHARD",
                    value,
                    "expected INDEX/TOTAL with INDEX from 1, e.g. 2/8",
                ));
            };
            return Shard::new(index, total)
                .map(Some)
                .map_err(|r| bad("PERF_SHARD", value, &r));
        }
        let Some(total_text) = get("PERF_SHARDS") else {
            return Ok(None);
        };
        let total = match total_text.trim().parse::<u32>() {
            Ok(n) if n >= 1 => n,
            _ => {
                return Err(bad(
                    "PERF_SHARDS",
                    total_text,
                    "expected the number of shards, at least 1",
                ))
            }
        };
        for var in ["JOB_COMPLETION_INDEX", "AWS_BATCH_JOB_ARRAY_INDEX"] {
            if let Some(value) = get(var) {
                return match value.trim().parse::<u32>() {
                    Ok(i) if i < total => Ok(Some(Shard {
                        index: i + 1,
                        total,
                    })),
                    _ => Err(bad(
                        var,
                        value,
                        &format!("expected a 0-based index below PERF_SHARDS={total}"),
                    )),
                };
            }
        }
        Err(bad(
            "PERF_SHARDS",
            total_text,
            "set, but no shard index: set PERF_SHARD=INDEX/TOTAL, or run as a Kubernetes Indexed Job \
             (JOB_COMPLETION_INDEX) or an AWS Batch array job (AWS_BATCH_JOB_ARRAY_INDEX)",
        ))
    }

    /// This shard's share of `n` whole things: `n / total`, plus one for
    /// the first `n % total` shards. The shares of all shards add up to `n`.
    pub fn share(self, n: u64) -> u64 {
        let total = u64::from(self.total);
        n / total + u64::from(u64::from(self.index - 1) < n % total)
    }

    /// This shard's part of `load` (see the [module docs](self)).
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

/// The furthest in the future a common start may be: a start further away
/// is a mistake (a time in milliseconds reads as 56,000 years from now).
pub const MAX_START_WAIT: Duration = Duration::from_secs(24 * 3600);

/// The common start time, from `PERF_START_AT` (Unix seconds, fractions
/// allowed, e.g. `1764324000` or `1764324000.5`), at most
/// [`MAX_START_WAIT`] from now. The run's `timeout` covers the wait.
pub fn start_at_from_env() -> Result<Option<SystemTime>, Error> {
    start_at_from(&crate::env::process, SystemTime::now())
}

pub(crate) fn start_at_from(
    get: &dyn Fn(&str) -> Option<String>,
    now: SystemTime,
) -> Result<Option<SystemTime>, Error> {
    let Some(value) = get("PERF_START_AT") else {
        return Ok(None);
    };
    let bad = |reason: String| Error::Env {
        var: "PERF_START_AT".into(),
        value: value.clone(),
        reason,
    };
    let seconds = match value.trim().parse::<f64>() {
        Ok(s) if s.is_finite() && s > 0.0 => s,
        _ => {
            return Err(bad(
                "expected a Unix time in seconds, e.g. $(( $(date +%s) + 30 ))".into(),
            ))
        }
    };
    let at = Duration::try_from_secs_f64(seconds)
        .ok()
        .and_then(|d| UNIX_EPOCH.checked_add(d))
        .ok_or_else(|| bad("is not a time this machine can represent".into()))?;
    check_start(at, now).map(Some).map_err(bad)
}

/// A start at most [`MAX_START_WAIT`] after `now`.
pub(crate) fn check_start(at: SystemTime, now: SystemTime) -> Result<SystemTime, String> {
    match at.duration_since(now) {
        Ok(wait) if wait > MAX_START_WAIT => Err(format!(
            "is {} from now, more than the limit of 24 h (Unix time in seconds, not milliseconds?)",
            perf_spec::format_duration(wait)
        )),
        _ => Ok(at),
    }
}

/// Writes a shard result to `PERF_RESULTS`: a directory, or (feature `s3`)
/// `s3://bucket/prefix/`. Returns where it went.
pub(crate) fn publish_result(to: &str, result: &ShardResult) -> Result<String, Error> {
    if to.starts_with("s3://") {
        #[cfg(feature = "s3")]
        {
            let (dest, r) = (to.to_owned(), result.clone());
            return crate::aws::block_on_own_thread(async move {
                crate::aws::s3::put_result(&dest, &r).await
            })
            .and_then(|r| r)
            .map_err(|reason| Error::Publish {
                target: to.to_owned(),
                reason,
            });
        }
        #[cfg(not(feature = "s3"))]
        return Err(Error::Env {
            var: "PERF_RESULTS".into(),
            value: to.into(),
            reason: "s3:// destinations need perf-runtime's `s3` feature".into(),
        });
    }
    let path = result.path_in(Path::new(to));
    result.write(&path)?;
    Ok(path.display().to_string())
}

/// Sleeps until `at` (returns at once if it has passed), or until the
/// run's `deadline`, whichever comes first.
pub(crate) async fn wait_until(at: SystemTime, deadline: Option<std::time::Instant>) {
    if let Ok(left) = at.duration_since(SystemTime::now()) {
        let until = std::time::Instant::now() + left;
        let until = deadline.map_or(until, |d| d.min(until));
        tokio::time::sleep_until(until.into()).await;
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
    /// Built with debug assertions.
    pub debug_build: bool,
    /// The warm-up's counts.
    pub warmup: Option<WarmupStats>,
    /// Memory figures, with the tracking allocator.
    pub memory: Option<MemoryStats>,
    /// The recorded data.
    pub data: RecordedData,
    /// Where it was read from (not serialised).
    #[serde(skip)]
    pub source: Option<String>,
}

/// A threshold as stored in a shard result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SavedThreshold {
    /// As written (`p95 < 200ms`), for messages.
    pub text: String,
    /// The metric.
    pub metric: SavedMetric,
    /// `<`, `<=`, `>`, `>=` or `==`.
    pub op: String,
    /// The limit in the metric's unit (nanoseconds for latencies).
    pub limit: f64,
    /// Window length in seconds, for `per` thresholds.
    pub window_secs: Option<u64>,
    /// Tag, for `for "tag"` thresholds.
    pub tag: Option<String>,
}

/// A threshold's metric, as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[allow(missing_docs)]
pub enum SavedMetric {
    Mean,
    Min,
    Max,
    Percentile(f64),
    ErrorRate,
    Throughput,
    Dropped,
    DroppedRate,
    PeakHeap,
    AllocsPerIter,
    BytesPerIter,
    Leaks,
    LeakPerIter,
    ClassRate(String),
    Custom {
        name: String,
        stat: String,
        duration: bool,
    },
}

impl SavedMetric {
    pub(crate) fn save(metric: perf_spec::Metric) -> SavedMetric {
        use perf_spec::Metric as M;
        match metric {
            M::Mean => SavedMetric::Mean,
            M::Min => SavedMetric::Min,
            M::Max => SavedMetric::Max,
            M::Percentile(p) => SavedMetric::Percentile(p.value()),
            M::ErrorRate => SavedMetric::ErrorRate,
            M::Throughput => SavedMetric::Throughput,
            M::Dropped => SavedMetric::Dropped,
            M::DroppedRate => SavedMetric::DroppedRate,
            M::PeakHeap => SavedMetric::PeakHeap,
            M::AllocsPerIter => SavedMetric::AllocsPerIter,
            M::BytesPerIter => SavedMetric::BytesPerIter,
            M::Leaks => SavedMetric::Leaks,
            M::LeakPerIter => SavedMetric::LeakPerIter,
            M::ClassRate(c) => SavedMetric::ClassRate(c.to_owned()),
            M::Custom {
                name,
                stat,
                duration,
            } => SavedMetric::Custom {
                name: name.to_owned(),
                stat: stat.to_string(),
                duration,
            },
        }
    }

    /// The metric again (names are interned for the process's life).
    pub(crate) fn load(&self) -> Result<perf_spec::Metric, String> {
        use perf_spec::{Metric as M, Percentile, Stat};
        let leak = |s: &str| -> &'static str { Box::leak(s.to_owned().into_boxed_str()) };
        let p = |v: f64| Percentile::new(v);
        Ok(match self {
            SavedMetric::Mean => M::Mean,
            SavedMetric::Min => M::Min,
            SavedMetric::Max => M::Max,
            SavedMetric::Percentile(v) => M::Percentile(p(*v)?),
            SavedMetric::ErrorRate => M::ErrorRate,
            SavedMetric::Throughput => M::Throughput,
            SavedMetric::Dropped => M::Dropped,
            SavedMetric::DroppedRate => M::DroppedRate,
            SavedMetric::PeakHeap => M::PeakHeap,
            SavedMetric::AllocsPerIter => M::AllocsPerIter,
            SavedMetric::BytesPerIter => M::BytesPerIter,
            SavedMetric::Leaks => M::Leaks,
            SavedMetric::LeakPerIter => M::LeakPerIter,
            SavedMetric::ClassRate(c) => M::ClassRate(leak(c)),
            SavedMetric::Custom {
                name,
                stat,
                duration,
            } => M::Custom {
                name: leak(name),
                stat: match stat.strip_prefix('p').and_then(|v| v.parse::<f64>().ok()) {
                    Some(v) => Stat::Percentile(p(v)?),
                    None => Stat::from_name(stat)
                        .ok_or_else(|| format!("unknown statistic `{stat}`"))?,
                },
                duration: *duration,
            },
        })
    }
}

impl SavedThreshold {
    fn save(t: &Threshold) -> SavedThreshold {
        let spec = t.0;
        SavedThreshold {
            text: t.to_string(),
            metric: SavedMetric::save(spec.metric),
            op: spec.op.to_string(),
            limit: spec.limit,
            window_secs: spec.window.map(|w| w.as_secs()),
            tag: spec.tag.map(str::to_owned),
        }
    }

    /// The threshold again (names are interned for the process's life).
    pub fn load(&self) -> Result<Threshold, String> {
        use perf_spec::Op;
        let leak = |s: &str| -> &'static str { Box::leak(s.to_owned().into_boxed_str()) };
        let metric = self.metric.load()?;
        let op = match self.op.as_str() {
            "<" => Op::Lt,
            "<=" => Op::Le,
            ">" => Op::Gt,
            ">=" => Op::Ge,
            "==" => Op::Eq,
            other => return Err(format!("unknown operator `{other}`")),
        };
        let spec = perf_spec::ThresholdSpec {
            metric,
            op,
            limit: self.limit,
            window: self.window_secs.map(Duration::from_secs),
            tag: self.tag.as_deref().map(leak),
        };
        spec.check()
            .map_err(|e| format!("threshold `{}`: {e}", self.text))?;
        Ok(Threshold::from_spec(spec))
    }
}

/// A histogram, HdrHistogram V2 + DEFLATE, base64.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct EncodedHistogram(pub String);

impl EncodedHistogram {
    /// Encodes a histogram.
    pub fn encode<T: Counter>(h: &Histogram<T>) -> EncodedHistogram {
        EncodedHistogram(crate::codec::encode(h))
    }

    /// Decodes it (auto-resizing), within the codec's bounds.
    pub fn decode<T: Counter>(&self) -> Result<Histogram<T>, String> {
        crate::codec::decode(&self.0)
    }
}

/// The recorded data of a shard, losslessly.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RecordedData {
    /// Latency of every measured iteration (3 significant digits).
    pub histogram: EncodedHistogram,
    /// Open model: service time.
    pub service: Option<EncodedHistogram>,
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
}

impl RecordedData {
    pub(crate) fn of(r: &Recorded) -> RecordedData {
        RecordedData {
            histogram: EncodedHistogram::encode(&r.histogram),
            service: r.service.as_ref().map(EncodedHistogram::encode),
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
            origin: origin(),
            declared: declared.clone(),
            load: load.clone(),
            thresholds: thresholds.iter().map(SavedThreshold::save).collect(),
            after: AfterRun::default(),
            started_at_unix_ns: m
                .started_at
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos() as u64),
            elapsed_ns: m.elapsed.as_nanos() as u64,
            timed_out: m.timed_out,
            aborted: m.aborted.clone(),
            interrupted: m.interrupted,
            unscheduled: m.unscheduled,
            debug_build,
            warmup: m.warmup.as_ref().map(|w| WarmupStats {
                iterations: w.iterations,
                errors: w.errors,
            }),
            memory: m.memory.clone(),
            data: RecordedData::of(&m.main),
            source: None,
        }
    }

    /// The file name of this result: `<test path>.shard-2-of-8.json` under
    /// `dir` (the test's `::` become directories, as for reports).
    pub fn path_in(&self, dir: &Path) -> PathBuf {
        let report = crate::report::report_path(dir, &self.name);
        report.with_extension(format!(
            "shard-{}-of-{}.json",
            self.shard.index, self.shard.total
        ))
    }

    /// The JSON text.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("a shard result always serialises")
    }

    /// Parses a shard result; `source` names it in errors.
    pub fn from_json(text: &str, source: &str) -> Result<ShardResult, String> {
        let mut r: ShardResult = serde_json::from_str(text)
            .map_err(|e| format!("{source} is not a perf-runtime shard result: {e}"))?;
        if r.format != SHARD_FORMAT {
            return Err(format!(
                "{source}: format is {:?}, not {SHARD_FORMAT:?}",
                r.format
            ));
        }
        if r.schema_version != SHARD_SCHEMA_VERSION {
            return Err(format!(
                "{source}: shard schema version {} (this build reads {SHARD_SCHEMA_VERSION})",
                r.schema_version
            ));
        }
        r.source = Some(source.to_owned());
        Ok(r)
    }

    /// Writes the result to `path` atomically.
    pub fn write(&self, path: &Path) -> Result<(), Error> {
        crate::report::write_atomically(path, self.to_json().as_bytes()).map_err(|source| {
            Error::Report {
                path: path.to_owned(),
                source,
            }
        })
    }

    /// Reads a result file.
    pub fn read(path: &Path) -> Result<ShardResult, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("reading {}: {e}", path.display()))?;
        ShardResult::from_json(&text, &path.display().to_string())
    }

    fn name_for_errors(&self) -> String {
        self.source
            .clone()
            .unwrap_or_else(|| format!("shard {}", self.shard))
    }
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// `<host name> pid <pid>`: which machine and process produced a result.
fn origin() -> String {
    let host = std::env::var("HOSTNAME")
        .ok()
        .filter(|h| !h.is_empty())
        .or_else(|| {
            std::fs::read_to_string("/proc/sys/kernel/hostname")
                .ok()
                .map(|h| h.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown-host".into());
    format!("{host} pid {}", std::process::id())
}

/// Why shard results could not be merged.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum MergeError {
    /// Nothing to merge.
    #[error("no shard results to merge")]
    Empty,
    /// Results of different tests.
    #[error("shard results of different tests: {first} and {other} ({source_name})")]
    MixedTests {
        /// The first test's name.
        first: String,
        /// The other's.
        other: String,
        /// Where the other came from.
        source_name: String,
    },
    /// Shards disagree on the total.
    #[error("{source_name} is shard {shard} but another result says there are {total} shards")]
    MixedTotals {
        /// The odd one.
        shard: Shard,
        /// The total seen first.
        total: u32,
        /// Where the odd one came from.
        source_name: String,
    },
    /// A shard came twice.
    #[error("shard {shard} of {test} is there twice: {first} and {second}")]
    Duplicate {
        /// The test.
        test: String,
        /// The shard.
        shard: Shard,
        /// One copy.
        first: String,
        /// The other.
        second: String,
    },
    /// Shards are missing.
    #[error("{test}: shard(s) {} of {total} missing (have {have}); no verdict on a partial result", missing.iter().map(u32::to_string).collect::<Vec<_>>().join(", "))]
    Missing {
        /// The test.
        test: String,
        /// The missing indexes.
        missing: Vec<u32>,
        /// The total.
        total: u32,
        /// How many are there.
        have: usize,
    },
    /// A result's data does not decode.
    #[error("{0}")]
    Corrupt(String),
    /// A result disagrees with itself or with the other shards.
    #[error("{source_name}: `{field}` {reason}")]
    Inconsistent {
        /// Where the odd result came from.
        source_name: String,
        /// The field at fault.
        field: &'static str,
        /// What is wrong with it.
        reason: String,
    },
}

/// How far apart shard starts may be beyond the run's own length: shards
/// share a `PERF_START_AT`, so they start within a second or two of each
/// other; a minute leaves room for a slow scheduler and rules out a clock
/// that is off by hours or a start field of 0.
pub const START_SLACK: Duration = Duration::from_secs(60);

/// The longest timeline a merge accepts, in seconds (24 hours): each second
/// holds a histogram of its own (a few KiB), so a longer one is either a
/// forged file or a run better split into several.
pub const MAX_TIMELINE_SECONDS: usize = 86_400;

/// Checks one result on its own: its shard, its counts, its timeline.
fn check_result(r: &ShardResult) -> Result<(), MergeError> {
    let bad = |field: &'static str, reason: String| MergeError::Inconsistent {
        source_name: r.name_for_errors(),
        field,
        reason,
    };
    Shard::new(r.shard.index, r.shard.total).map_err(|e| bad("shard", e))?;
    let d = &r.data;
    if d.errors > d.iterations {
        return Err(bad(
            "errors",
            format!("is {} but only {} iterations ran", d.errors, d.iterations),
        ));
    }
    if d.timeouts.saturating_add(d.panics) > d.errors {
        return Err(bad(
            "timeouts",
            format!(
                "{} timeouts and {} panics are more than the {} errors",
                d.timeouts, d.panics, d.errors
            ),
        ));
    }
    if r.elapsed_ns > MAX_TIMELINE_SECONDS as u64 * 1_000_000_000 {
        return Err(bad(
            "elapsed_ns",
            format!("is {}, over the limit of 24 h", r.elapsed_ns),
        ));
    }
    if d.timeline.len() > MAX_TIMELINE_SECONDS {
        return Err(bad(
            "timeline",
            format!(
                "has {} seconds, over the limit of {MAX_TIMELINE_SECONDS} (24 h)",
                d.timeline.len()
            ),
        ));
    }
    let (in_seconds, errors_in_seconds) = d.timeline.iter().fold((0u64, 0u64), |(i, e), s| {
        (i.saturating_add(s.iterations), e.saturating_add(s.errors))
    });
    if in_seconds > d.iterations || errors_in_seconds > d.errors {
        return Err(bad(
            "timeline",
            format!(
                "counts {in_seconds} iterations ({errors_in_seconds} failed) but the shard ran {} ({} failed)",
                d.iterations, d.errors
            ),
        ));
    }
    Ok(())
}

/// Every shard must be a part of the same test: the same declared load,
/// thresholds and after-run settings as the first.
fn check_same_test(first: &ShardResult, r: &ShardResult) -> Result<(), MergeError> {
    let bad = |field: &'static str, what: String| MergeError::Inconsistent {
        source_name: r.name_for_errors(),
        field,
        reason: format!(
            "differs from {}'s ({what}): the shards come from different versions of the test",
            first.name_for_errors()
        ),
    };
    let load = |l: &LoadShape| {
        let mut l = l.clone();
        l.overrides.clear();
        l.shard = None;
        l
    };
    if load(&first.declared) != load(&r.declared) {
        return Err(bad(
            "declared",
            format!("{:?} against {:?}", r.declared, first.declared),
        ));
    }
    if first.thresholds != r.thresholds {
        let text = |t: &[SavedThreshold]| {
            t.iter()
                .map(|t| t.text.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        };
        return Err(bad(
            "thresholds",
            format!(
                "[{}] against [{}]",
                text(&r.thresholds),
                text(&first.thresholds)
            ),
        ));
    }
    if first.after != r.after {
        return Err(bad("after", "baseline or publishing settings".into()));
    }
    Ok(())
}

/// Shard starts may differ by the run's length plus [`START_SLACK`] at most.
fn check_starts(results: &[ShardResult]) -> Result<(), MergeError> {
    let longest = results.iter().map(|r| r.elapsed_ns).max().unwrap_or(0);
    let allowed = longest.saturating_add(START_SLACK.as_nanos() as u64);
    // The shard furthest from the median start is the odd one.
    let mut starts: Vec<u64> = results.iter().map(|r| r.started_at_unix_ns).collect();
    starts.sort_unstable();
    let median = starts[starts.len() / 2];
    for r in results {
        let off = r.started_at_unix_ns.abs_diff(median);
        if off > allowed {
            return Err(MergeError::Inconsistent {
                source_name: r.name_for_errors(),
                field: "started_at_unix_ns",
                reason: format!(
                    "is {} from the other shards' start, more than the run's length ({}) plus {} of slack: \
                     its clock is off, or it belongs to another run",
                    perf_spec::format_duration(Duration::from_nanos(off)),
                    perf_spec::format_duration(Duration::from_nanos(longest)),
                    perf_spec::format_duration(START_SLACK)
                ),
            });
        }
    }
    Ok(())
}

/// Merges the results of every shard of one test into the report a
/// single machine would have produced (see the [module docs](self)).
pub fn merge(mut results: Vec<ShardResult>) -> Result<Report, MergeError> {
    let first = results.first().ok_or(MergeError::Empty)?;
    let (name, total) = (first.name.clone(), first.shard.total);
    for r in &results {
        check_result(r)?;
        if r.name != name {
            return Err(MergeError::MixedTests {
                first: name,
                other: r.name.clone(),
                source_name: r.name_for_errors(),
            });
        }
        if r.shard.total != total {
            return Err(MergeError::MixedTotals {
                shard: r.shard,
                total,
                source_name: r.name_for_errors(),
            });
        }
    }
    results.sort_by_key(|r| r.shard.index);
    for pair in results.windows(2) {
        if pair[0].shard.index == pair[1].shard.index {
            return Err(MergeError::Duplicate {
                test: name,
                shard: pair[0].shard,
                first: pair[0].name_for_errors(),
                second: pair[1].name_for_errors(),
            });
        }
    }
    let missing: Vec<u32> = (1..=total)
        .filter(|i| !results.iter().any(|r| r.shard.index == *i))
        .collect();
    if !missing.is_empty() {
        return Err(MergeError::Missing {
            test: name,
            missing,
            total,
            have: results.len(),
        });
    }
    for r in &results[1..] {
        check_same_test(&results[0], r)?;
    }
    check_starts(&results)?;
    let corrupt =
        |r: &ShardResult, e: String| MergeError::Corrupt(format!("{}: {e}", r.name_for_errors()));
    let thresholds = results[0]
        .thresholds
        .iter()
        .map(SavedThreshold::load)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| corrupt(&results[0], e))?;

    let start = results
        .iter()
        .map(|r| r.started_at_unix_ns)
        .min()
        .unwrap_or(0);
    let end = results
        .iter()
        .map(|r| r.started_at_unix_ns.saturating_add(r.elapsed_ns))
        .max()
        .unwrap_or(0);
    let mut merged = Recorded::empty(results.iter().any(|r| r.data.service.is_some()));
    for r in &results {
        let offset = ((r.started_at_unix_ns - start) as f64 / 1e9).round() as u32;
        merged
            .add_data(&r.data, offset)
            .map_err(|e| corrupt(r, e))?;
    }
    merged.finish_merge();
    let warmups: Vec<&WarmupStats> = results.iter().filter_map(|r| r.warmup.as_ref()).collect();
    let warmup = (!warmups.is_empty()).then(|| {
        let mut w = Recorded::empty(false);
        w.iterations = warmups.iter().map(|w| w.iterations).sum();
        w.errors = warmups.iter().map(|w| w.errors).sum();
        w
    });
    let memory = merge_memory(&results, merged.iterations);
    let measured = Measured {
        warmup,
        timed_out: results.iter().any(|r| r.timed_out),
        interrupted: results.iter().any(|r| r.interrupted),
        aborted: results.iter().find_map(|r| {
            r.aborted
                .as_ref()
                .map(|a| format!("shard {}: {a}", r.shard))
        }),
        memory,
        unscheduled: results.iter().map(|r| r.unscheduled).sum(),
        ..Measured::of(
            merged,
            UNIX_EPOCH + Duration::from_nanos(start),
            Duration::from_nanos(end - start),
        )
    };
    let mut load = results[0].declared.clone();
    load.overrides.push(format!("{total} shards"));
    Ok(Report::build(
        name,
        load,
        measured,
        &thresholds,
        results.iter().any(|r| r.debug_build),
        None,
    ))
}

/// Memory figures of all shards: allocation counts add up, per-iteration
/// figures are recomputed over all iterations, the peak is the largest
/// shard's (each shard is a process of its own), and a leak in any shard
/// is a leak.
fn merge_memory(results: &[ShardResult], iterations: u64) -> Option<MemoryStats> {
    let all: Vec<&MemoryStats> = results.iter().filter_map(|r| r.memory.as_ref()).collect();
    if all.len() != results.len() {
        return None;
    }
    let sum = |f: fn(&MemoryStats) -> u64| all.iter().map(|m| f(m)).sum::<u64>();
    let allocations = sum(|m| m.allocations);
    let bytes_allocated = sum(|m| m.bytes_allocated);
    let per_iter = |n: u64| {
        if iterations == 0 {
            0.0
        } else {
            n as f64 / iterations as f64
        }
    };
    let worst = all
        .iter()
        .max_by(|a, b| a.leak.bytes_per_iter.total_cmp(&b.leak.bytes_per_iter))?;
    Some(MemoryStats {
        allocations,
        deallocations: sum(|m| m.deallocations),
        bytes_allocated,
        allocs_per_iter: per_iter(allocations),
        bytes_per_iter: per_iter(bytes_allocated),
        peak_live_bytes: all.iter().map(|m| m.peak_live_bytes).max().unwrap_or(0),
        live_bytes_at_end: all.iter().map(|m| m.live_bytes_at_end).sum(),
        leak: LeakVerdict {
            detected: all.iter().any(|m| m.leak.detected),
            ..worst.leak.clone()
        },
    })
}

impl Recorded {
    pub(crate) fn empty(open: bool) -> Recorded {
        Recorded {
            histogram: new_histogram(),
            service: open.then(new_histogram),
            timeline: Timeline::default(),
            iterations: 0,
            errors: 0,
            timeouts: 0,
            panics: 0,
            saturated: 0,
            dropped: 0,
            error_counts: Vec::new(),
            first_errors: Vec::new(),
            classes: BTreeMap::new(),
            tags: BTreeMap::new(),
            custom: BTreeMap::new(),
        }
    }

    /// Adds a shard's data, its timeline shifted by `offset` seconds.
    fn add_data(&mut self, d: &RecordedData, offset: u32) -> Result<(), String> {
        add(&mut self.histogram, &latencies(&d.histogram)?)?;
        if let Some(s) = &d.service {
            let own = self.service.get_or_insert_with(new_histogram);
            add(own, &latencies(s)?)?;
        }
        for (i, s) in d.timeline.iter().enumerate() {
            let second =
                Second::from_parts(latencies(&s.latency)?, s.iterations, s.errors, s.dropped);
            self.timeline.add(offset + i as u32, &second);
        }
        let sum = |a: u64, b: u64, what: &str| {
            a.checked_add(b)
                .ok_or_else(|| format!("`{what}` adds up to more than {}", u64::MAX))
        };
        self.iterations = sum(self.iterations, d.iterations, "iterations")?;
        self.errors = sum(self.errors, d.errors, "errors")?;
        self.timeouts = sum(self.timeouts, d.timeouts, "timeouts")?;
        self.panics = sum(self.panics, d.panics, "panics")?;
        self.saturated = sum(self.saturated, d.saturated, "saturated")?;
        self.dropped = sum(self.dropped, d.dropped, "dropped")?;
        for e in &d.error_counts {
            match self
                .error_counts
                .iter_mut()
                .find(|c| c.kind == e.kind && c.message == e.message)
            {
                Some(c) => c.count += e.count,
                None => self.error_counts.push(e.clone()),
            }
        }
        self.first_errors.extend(d.first_errors.iter().cloned());
        for (class, n) in &d.classes {
            *self.classes.entry(class.clone()).or_default() += n;
        }
        for (tag, t) in &d.tags {
            let own = self.tags.entry(tag.clone()).or_insert_with(|| TagAgg {
                latency: new_histogram(),
                errors: 0,
            });
            add(&mut own.latency, &latencies(&t.latency)?)?;
            own.errors += t.errors;
        }
        for (metric, c) in &d.custom {
            let kind = match c.kind.as_str() {
                "value" => "value",
                "duration" => "duration",
                "count" => "count",
                other => {
                    return Err(format!(
                        "custom metric {metric:?} has unknown kind {other:?}"
                    ))
                }
            };
            let own = self
                .custom
                .entry(metric.clone())
                .or_insert_with(|| CustomAgg {
                    kind,
                    count: 0,
                    sum: 0.0,
                    min: f64::INFINITY,
                    max: f64::NEG_INFINITY,
                    histogram: None,
                });
            if own.kind != kind {
                return Err(format!(
                    "custom metric {metric:?} is a {} on one shard and a {kind} on another",
                    own.kind
                ));
            }
            own.count += c.count;
            own.sum += c.sum;
            own.min = own.min.min(c.min);
            own.max = own.max.max(c.max);
            if let Some(h) = &c.histogram {
                add(
                    own.histogram.get_or_insert_with(new_histogram),
                    &h.decode::<u64>()?,
                )?;
            }
        }
        Ok(())
    }

    /// Orders merged errors as a single run would: most frequent first;
    /// the first errors by iteration, as many as one run keeps.
    fn finish_merge(&mut self) {
        self.error_counts
            .sort_by_key(|c| std::cmp::Reverse(c.count));
        self.first_errors.sort_by_key(|e| e.iteration);
        self.first_errors.truncate(crate::recorder::FIRST_ERRORS);
    }
}

/// A latency histogram of a shard: decoded within the codec's bounds, and
/// no value above the recorder's one-hour ceiling (a histogram that holds
/// one was not written by perf-runtime, and would make every second of a
/// merged timeline as large as its range).
fn latencies<T: Counter>(e: &EncodedHistogram) -> Result<Histogram<T>, String> {
    let h: Histogram<T> = e.decode()?;
    if h.max() > crate::recorder::MAX_LATENCY_NS {
        return Err(format!(
            "a latency histogram holds {} ns, above the recorder's ceiling of one hour",
            h.max()
        ));
    }
    Ok(h)
}

/// Histogram addition (auto-resizing: every value fits).
fn add(into: &mut Histogram<u64>, h: &Histogram<u64>) -> Result<(), String> {
    into.add(h)
        .map_err(|e| format!("a histogram does not add up: {e:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: BTreeMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| map.get(k).cloned()
    }

    #[test]
    fn the_shard_comes_from_perf_shard_or_an_index_and_perf_shards() {
        let s = |pairs: &[(&str, &str)]| Shard::from_lookup(&env(pairs));
        assert_eq!(s(&[]).unwrap(), None);
        assert_eq!(
            s(&[("PERF_SHARD", "2/8")]).unwrap(),
            Some(Shard { index: 2, total: 8 })
        );
        assert_eq!(
            s(&[("PERF_SHARDS", "8"), ("JOB_COMPLETION_INDEX", "0")]).unwrap(),
            Some(Shard { index: 1, total: 8 })
        );
        assert_eq!(
            s(&[("PERF_SHARDS", "4"), ("AWS_BATCH_JOB_ARRAY_INDEX", "3")]).unwrap(),
            Some(Shard { index: 4, total: 4 })
        );
        // An index without PERF_SHARDS is not sharding (other Indexed Jobs).
        assert_eq!(s(&[("JOB_COMPLETION_INDEX", "3")]).unwrap(), None);
        for (pairs, var) in [
            (&[("PERF_SHARD", "0/8")][..], "PERF_SHARD"),
            (&[("PERF_SHARD", "9/8")][..], "PERF_SHARD"),
            (&[("PERF_SHARD", "two")][..], "PERF_SHARD"),
            (
                &[("PERF_SHARDS", "4"), ("JOB_COMPLETION_INDEX", "4")][..],
                "JOB_COMPLETION_INDEX",
            ),
            (&[("PERF_SHARDS", "4")][..], "PERF_SHARDS"),
            (
                &[("PERF_SHARDS", "0"), ("JOB_COMPLETION_INDEX", "0")][..],
                "PERF_SHARDS",
            ),
        ] {
            let err = s(pairs).unwrap_err().to_string();
            assert!(err.contains(var), "{pairs:?}: {err}");
        }
    }

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

    #[test]
    fn thresholds_survive_the_result_file() {
        let ts = [
            Threshold::p(95.0).lt(Duration::from_millis(200)),
            Threshold::error_rate().lt(0.01),
            Threshold::class_rate("throttle").le(0.001),
            Threshold::p(99.0).lt(Duration::from_millis(300)).per(10),
            Threshold::of("consumed_rcu").mean().lt(1.5),
            Threshold::of("execution")
                .p(95.0)
                .lt_duration(Duration::from_millis(500)),
        ];
        for t in ts {
            let saved = SavedThreshold::save(&t);
            let json = serde_json::to_string(&saved).unwrap();
            let back: SavedThreshold = serde_json::from_str(&json).unwrap();
            assert_eq!(back.load().unwrap().to_string(), t.to_string());
        }
    }

    #[test]
    fn baseline_and_publishing_settings_survive_the_result_file() {
        use crate::baseline::Regression;
        use crate::export::Publish;
        let after = AfterRun {
            baseline: Some("v1".into()),
            regressions: vec![
                Regression {
                    metric: Some(perf_spec::Metric::Percentile(
                        perf_spec::Percentile::new(99.9).unwrap(),
                    )),
                    budget: 0.1,
                },
                Regression {
                    metric: None,
                    budget: 0.25,
                },
            ],
            save_baseline: Some("v2".into()),
            publish: vec![Publish::CloudWatch, Publish::EmfFile("/tmp/m.log".into())],
            namespace: Some("Shop".into()),
        };
        let mut r = synthetic(1, 1_000, &[(10, 1_000_000)], 0);
        r.after = after.clone();
        let back: ShardResult = serde_json::from_str(&r.to_json()).unwrap();
        assert_eq!(back.after, after);
        // Results written before the settings were carried still read.
        let mut old: serde_json::Value = serde_json::from_str(&r.to_json()).unwrap();
        old.as_object_mut().unwrap().remove("after");
        let back: ShardResult = serde_json::from_value(old).unwrap();
        assert_eq!(back.after, AfterRun::default());
    }
    /// A shard that ran `seconds` (iterations, latency) from `start_s`,
    /// with `throttles` failed iterations of class `throttle`.
    fn synthetic(index: u32, start_s: u64, seconds: &[(u64, u64)], throttles: u64) -> ShardResult {
        let mut r = Recorded::empty(false);
        for (i, &(n, latency)) in seconds.iter().enumerate() {
            let mut second = Second::new();
            for _ in 0..n {
                second.record(latency, false);
                r.histogram.record(latency).unwrap();
            }
            r.timeline.add(i as u32, &second);
            r.iterations += n;
        }
        r.errors = throttles;
        r.classes.insert("throttle".into(), throttles);
        r.error_counts.push(ErrorCount {
            kind: crate::ErrorKind::Error,
            message: "Throttled".into(),
            count: throttles,
        });
        let load = LoadShape::default();
        let measured = Measured::of(
            r,
            UNIX_EPOCH + Duration::from_secs(start_s),
            Duration::from_secs(seconds.len() as u64),
        );
        let thresholds = [
            Threshold::p(95.0).lt(Duration::from_millis(10)).per(1),
            Threshold::class_rate("throttle").lt(0.1),
        ];
        ShardResult::new(
            "t::merge",
            Shard::new(index, 2).unwrap(),
            &load,
            &load,
            &thresholds,
            false,
            &measured,
        )
    }

    #[test]
    fn timelines_line_up_on_the_common_start_and_windows_are_judged_merged() {
        let ms = 1_000_000;
        // Shard 2 started a second after shard 1; its second 1 (the run's
        // second 2) was slow.
        let one = synthetic(1, 1_000, &[(10, ms), (10, ms), (10, ms)], 2);
        let two = synthetic(2, 1_001, &[(10, ms), (10, 50 * ms), (10, ms)], 3);
        let back = ShardResult::from_json(&two.to_json(), "two").unwrap();
        let report = merge(vec![back, one]).unwrap();
        let per_second: Vec<u64> = report.timeline.iter().map(|p| p.iterations).collect();
        assert_eq!(per_second, [10, 20, 20, 10]);
        assert_eq!(report.elapsed(), Duration::from_secs(4));
        assert!(
            report.timeline[2].p95_ns >= 49 * ms,
            "{:?}",
            report.timeline[2]
        );
        let windowed = &report.thresholds[0];
        let w = windowed.windows.as_ref().unwrap();
        assert!(!windowed.passed);
        assert_eq!((w.checked, w.broken, w.first_broken_start), (4, 1, Some(2)));
        // Classes and messages add up: 5 throttles of 60 iterations.
        assert_eq!(report.error_classes["throttle"], 5);
        assert_eq!(report.error_counts[0].count, 5);
        assert!(report.thresholds[1].passed, "{:?}", report.thresholds[1]);
    }

    /// Merges `results`, expecting an `Inconsistent` error about `field`
    /// that names `source`.
    fn refused(results: Vec<ShardResult>, field: &str, source: &str) -> String {
        match merge(results) {
            Err(e @ MergeError::Inconsistent { .. }) => {
                let text = e.to_string();
                assert!(
                    text.contains(&format!("`{field}`")) && text.contains(source),
                    "{text}"
                );
                text
            }
            Err(e) => panic!("expected an inconsistency in {field}, got: {e}"),
            Ok(_) => panic!("merged though {field} was wrong"),
        }
    }

    fn named(mut r: ShardResult, source: &str) -> ShardResult {
        r.source = Some(source.into());
        r
    }

    #[test]
    fn shards_outside_their_total_are_refused() {
        let ms = 1_000_000;
        let pair = || {
            (
                named(synthetic(1, 1_000, &[(10, ms)], 0), "one"),
                named(synthetic(2, 1_000, &[(10, ms)], 0), "two"),
            )
        };
        let (one, two) = pair();
        let mut extra = named(two.clone(), "copy");
        extra.shard = Shard { index: 3, total: 2 };
        let e = refused(vec![one, two, extra], "shard", "copy");
        assert!(e.contains("3/2"), "{e}");
        for (index, total) in [(0, 2), (1, 0)] {
            let (mut one, two) = pair();
            one.shard = Shard { index, total };
            refused(vec![one, two], "shard", "one");
        }
    }

    #[test]
    fn counts_that_cannot_be_are_refused() {
        let ms = 1_000_000;
        let one = || named(synthetic(1, 1_000, &[(10, ms)], 0), "one");
        let two = || named(synthetic(2, 1_000, &[(10, ms)], 0), "two");
        // More errors than iterations.
        let mut bad = two();
        bad.data.errors = 25;
        refused(vec![one(), bad], "errors", "two");
        // Counts that wrap when added.
        let (mut a, mut b) = (one(), two());
        for r in [&mut a, &mut b] {
            r.data.iterations = u64::MAX;
        }
        match merge(vec![a, b]) {
            Err(MergeError::Corrupt(e)) => {
                assert!(e.contains("iterations") && e.contains("two"), "{e}")
            }
            other => panic!("{:?}", other.map(|r| r.iterations)),
        }
        // A timeline that counts more than the shard ran.
        let mut bad = two();
        bad.data.iterations = 5;
        refused(vec![one(), bad], "timeline", "two");
        // A latency above the recorder's one-hour ceiling.
        let mut bad = two();
        let mut h = new_histogram();
        h.record(u64::MAX / 4).unwrap();
        bad.data.timeline[0].latency = EncodedHistogram::encode(&h);
        match merge(vec![one(), bad]) {
            Err(MergeError::Corrupt(e)) => {
                assert!(e.contains("ceiling") && e.contains("two"), "{e}")
            }
            other => panic!("{:?}", other.map(|r| r.iterations)),
        }
        // A timeline longer than the limit: refused before it is decoded.
        let mut bad = two();
        let second = bad.data.timeline[0].clone();
        bad.data.timeline = vec![second; MAX_TIMELINE_SECONDS + 1];
        refused(vec![one(), bad], "timeline", "two");
    }

    #[test]
    fn shards_of_different_tests_are_refused() {
        let ms = 1_000_000;
        let one = named(synthetic(1, 1_000, &[(10, ms)], 0), "one");
        let mut two = named(synthetic(2, 1_000, &[(10, ms)], 0), "two");
        two.declared.workers = 7;
        refused(vec![one.clone(), two], "declared", "two");
        let mut two = named(synthetic(2, 1_000, &[(10, ms)], 0), "two");
        two.thresholds.pop();
        let e = refused(vec![one.clone(), two], "thresholds", "two");
        assert!(e.contains("p95"), "{e}");
        let mut two = named(synthetic(2, 1_000, &[(10, ms)], 0), "two");
        two.after.baseline = Some("v2".into());
        refused(vec![one, two], "after", "two");
    }

    #[test]
    fn a_clock_that_is_off_is_named_not_allocated_for() {
        let ms = 1_000_000;
        let shards = |skew_of_third: i64| {
            (1..=4)
                .map(|i| {
                    let start = if i == 3 {
                        1_000_000 + skew_of_third
                    } else {
                        1_000_000
                    };
                    let mut r = named(
                        synthetic(1, start as u64, &[(10, ms); 3], 0),
                        &format!("s{i}"),
                    );
                    r.shard = Shard { index: i, total: 4 };
                    r
                })
                .collect::<Vec<_>>()
        };
        // Within the run's length plus the slack: fine.
        assert_eq!(merge(shards(30)).unwrap().iterations, 120);
        for skew in [-1_000_000, 86_400, 30 * 86_400] {
            let e = refused(shards(skew), "started_at_unix_ns", "s3");
            assert!(e.contains("clock is off"), "{e}");
        }
        // A start of 0 (the epoch) in one shard of four.
        let mut all = shards(0);
        all[2].started_at_unix_ns = 0;
        refused(all, "started_at_unix_ns", "s3");
    }

    #[test]
    fn a_start_far_away_is_refused_with_the_variable() {
        let now = UNIX_EPOCH + Duration::from_secs(1_764_324_000);
        let at = |v: &str| start_at_from(&env(&[("PERF_START_AT", v)]), now);
        assert_eq!(
            at("1764324030").unwrap(),
            Some(now + Duration::from_secs(30))
        );
        // In the past: start at once.
        assert!(at("1000").unwrap().is_some());
        for (value, needle) in [
            ("1764324000000", "more than the limit of 24 h"),
            ("99999999999999999999", "can represent"),
            ("1e300", "can represent"),
            ("soon", "expected a Unix time"),
        ] {
            let e = at(value).unwrap_err().to_string();
            assert!(
                e.contains("PERF_START_AT") && e.contains(value) && e.contains(needle),
                "{e}"
            );
        }
    }
}
