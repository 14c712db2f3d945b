//! The report of a run as plain data: figures, threshold outcomes, the
//! baseline comparison, memory figures and the timeline, as serialised in
//! the JSON report. Built by the judge ([`crate::judge::verdict`]),
//! rendered by [`crate::output`], written and read by [`crate::io`].

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

use crate::model::baseline::BaselineComparison;
use crate::model::load::LoadShape;
use crate::model::measured::{new_histogram, CustomAgg, ErrorCount, ErrorSample, StillRunning};
use crate::model::memory::MemoryStats;
use crate::model::runs::{Calibration, RunFigures};
use crate::model::shard::{Shard, ShardResult};
use crate::model::threshold::Judging;
use crate::model::threshold::ThresholdOutcome;
use crate::model::timeline::TimelinePoint;

/// Version of the JSON report's schema; bumped on incompatible changes.
pub const REPORT_SCHEMA_VERSION: u32 = 1;

/// Latency figures of the measured iterations (successful and failed).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LatencyStats {
    /// Recorded iterations.
    pub count: u64,
    /// Fastest, in nanoseconds.
    pub min_ns: u64,
    /// Mean, in nanoseconds.
    pub mean_ns: f64,
    /// Standard deviation, in nanoseconds.
    pub stddev_ns: f64,
    /// Slowest, in nanoseconds.
    pub max_ns: u64,
    /// Percentiles, ascending.
    pub percentiles: Vec<PercentileValue>,
}

impl LatencyStats {
    pub(crate) fn of(h: &Histogram<u64>, percentiles: &[f64]) -> LatencyStats {
        let empty = h.is_empty();
        LatencyStats {
            count: h.len(),
            min_ns: if empty { 0 } else { h.min() },
            mean_ns: if empty { 0.0 } else { h.mean() },
            stddev_ns: if empty { 0.0 } else { h.stdev() },
            max_ns: if empty { 0 } else { h.max() },
            percentiles: percentiles
                .iter()
                .map(|&p| PercentileValue {
                    percentile: p,
                    value_ns: percentile_ns(h, p),
                })
                .collect(),
        }
    }

    /// The value of percentile `p`, if listed.
    pub fn percentile(&self, p: f64) -> Option<Duration> {
        self.percentiles
            .iter()
            .find(|v| v.percentile == p)
            .map(|v| Duration::from_nanos(v.value_ns))
    }
}

/// The iterations with one tag.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TagStats {
    /// Iterations with this tag.
    pub iterations: u64,
    /// Of which failed.
    pub errors: u64,
    /// `errors / iterations`.
    pub error_rate: f64,
    /// Their latency.
    pub latency: LatencyStats,
}

/// A custom metric's summary.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CustomStats {
    /// `value` (`ctx.record`), `duration` (`ctx.record_duration`, in
    /// nanoseconds) or `count` (`ctx.count`).
    pub kind: String,
    /// Values recorded.
    pub count: u64,
    /// Their sum (a counter's total).
    pub sum: f64,
    /// Smallest.
    pub min: f64,
    /// Largest.
    pub max: f64,
    /// `sum / count`.
    pub mean: f64,
    /// Durations only: percentiles, ascending.
    pub percentiles: Vec<PercentileValue>,
    /// The values' standard deviation (for the mean's interval).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stdev: Option<f64>,
    /// Durations: every value, for the percentiles' intervals (not in the
    /// JSON; a report read back judges by the listed values).
    #[serde(skip)]
    pub(crate) histogram: Option<hdrhistogram::Histogram<u64>>,
}

impl CustomStats {
    /// A duration metric's percentile `p`, if listed (the standard ones,
    /// and those thresholds ask for).
    pub fn percentile(&self, p: f64) -> Option<Duration> {
        self.percentiles
            .iter()
            .find(|v| v.percentile == p)
            .map(|v| Duration::from_nanos(v.value_ns))
    }

    pub(crate) fn of(c: &CustomAgg, percentiles: &[f64]) -> CustomStats {
        CustomStats {
            kind: c.kind.to_owned(),
            count: c.count,
            sum: c.sum,
            min: c.min,
            max: c.max,
            mean: if c.count == 0 {
                0.0
            } else {
                c.sum / c.count as f64
            },
            percentiles: c
                .histogram
                .as_ref()
                .map_or_else(Vec::new, |h| LatencyStats::of(h, percentiles).percentiles),
            stdev: c.stdev(),
            histogram: c.histogram.clone(),
        }
    }
}

/// One percentile of the latency distribution.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PercentileValue {
    /// The percentile, e.g. `99.9`.
    pub percentile: f64,
    /// Its value in nanoseconds.
    pub value_ns: u64,
}

/// Iterations run in the warm-up (not part of any figure).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WarmupStats {
    /// Warm-up iterations run.
    pub iterations: u64,
    /// Of which failed.
    pub errors: u64,
}

/// The line a summary ends with when the figures come from a debug build.
pub(crate) const DEBUG_BUILD_NOTE: &str = "  note: debug build: latencies include unoptimised code; `cargo test --release` gives figures to trust\n";

/// Everything a run measured, and its verdict. Serialised as the JSON
/// report (`schema_version` [`REPORT_SCHEMA_VERSION`]).
///
/// Its `Debug` is short (the figures a person reads, not the histograms'
/// counts); the whole report is its JSON.
#[derive(Clone, Serialize, Deserialize)]
pub struct Report {
    /// Schema version of this JSON.
    pub schema_version: u32,
    /// The test's full name (`module::path::test_name`).
    pub name: String,
    /// The Cargo package the test belongs to (`CARGO_PKG_NAME`, which cargo
    /// sets when it runs tests), when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub package: Option<String>,
    /// The load shape used, after environment overrides.
    pub load: LoadShape,
    /// When the measured phase started, in milliseconds since the Unix epoch.
    pub started_at_unix_ms: u64,
    /// Length of the measured phase, in nanoseconds.
    pub elapsed_ns: u64,
    /// Measured iterations that finished (including failed ones).
    pub iterations: u64,
    /// Failed iterations: `Err`, panics and timeouts.
    pub errors: u64,
    /// Of the errors, iterations cancelled by `iteration_timeout`.
    pub timeouts: u64,
    /// Of the errors, iterations that panicked.
    pub panics: u64,
    /// Latencies above one hour, recorded as one hour.
    pub saturated: u64,
    /// Open model: iterations that found no free worker at their scheduled
    /// start, and were not run.
    #[serde(default)]
    pub dropped: u64,
    /// `errors / iterations` (0 when nothing ran).
    pub error_rate: f64,
    /// `dropped / (iterations + dropped)`.
    #[serde(default)]
    pub dropped_rate: f64,
    /// `iterations / elapsed`, per second.
    pub throughput: f64,
    /// Latency of every measured iteration; in the open model, from its
    /// scheduled start (corrected for coordinated omission).
    pub latency: LatencyStats,
    /// Open model: latency from each iteration's actual start. `latency`
    /// minus this is the time iterations waited to begin.
    #[serde(default)]
    pub service: Option<LatencyStats>,
    /// Open model: how late each iteration began after its scheduled
    /// start (the dispatcher's wake-up, the hand-off to a worker, a busy
    /// runtime): k6's and wrk2's measure of whether the generator kept its
    /// schedule.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_delay: Option<LatencyStats>,
    /// A capacity search's answer and steps (`PerfTest::capacity`); the
    /// figures above are then its best step's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capacity: Option<crate::model::capacity::CapacityResult>,
    /// Each named phase of the stages (`("peak", "2m", 1000)`), with its
    /// own figures.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub phases: Vec<crate::model::phase::PhaseFigures>,
    /// Errors grouped by kind and message, most frequent first.
    pub error_counts: Vec<ErrorCount>,
    /// The first errors, with their iteration index.
    pub first_errors: Vec<ErrorSample>,
    /// The warm-up, if there was one.
    pub warmup: Option<WarmupStats>,
    /// Every threshold's verdict.
    pub thresholds: Vec<ThresholdOutcome>,
    /// Failed iterations per error class (`error`, `panic`, `timeout`, or
    /// the class set with `ctx.error_class`).
    #[serde(default)]
    pub error_classes: BTreeMap<String, u64>,
    /// Latency of the iterations with each tag (`ctx.tag`).
    #[serde(default)]
    pub tags: BTreeMap<String, TagStats>,
    /// Custom metrics (`ctx.record`, `ctx.record_duration`, `ctx.count`).
    #[serde(default)]
    pub custom: BTreeMap<String, CustomStats>,
    /// Each tag's latency histogram (not serialised).
    #[serde(skip)]
    pub(crate) tag_histograms: BTreeMap<String, Histogram<u64>>,
    /// The comparison with a baseline, when one was asked for.
    #[serde(default)]
    pub baseline: Option<BaselineComparison>,
    /// With the tracking allocator: allocations, peak heap and the leak
    /// verdict of the measured phase.
    #[serde(default)]
    pub memory: Option<MemoryStats>,
    /// The run second by second (by iteration end time).
    #[serde(default)]
    pub timeline: Vec<TimelinePoint>,
    /// The whole-run `timeout` expired before the run finished.
    pub timed_out: bool,
    /// Why `abort_on_fail` (or an iteration blocking its thread past
    /// `iteration_timeout`) stopped the run early.
    #[serde(default)]
    pub aborted: Option<String>,
    /// `SIGINT` or `SIGTERM` stopped the run: the figures are what was
    /// measured until then.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub interrupted: bool,
    /// Iterations still running when a timeout, a signal or a blocked
    /// iteration stopped the run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub still_running: Option<StillRunning>,
    /// Open model: arrivals the load generator could not start on schedule
    /// (it fell behind the rate), as opposed to `dropped` (no free worker).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub unscheduled: u64,
    /// Closed model: samples covered several iterations each (a body far
    /// below a microsecond); percentiles are then of batch means.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub batching: Option<crate::model::measured::Batching>,
    /// CPU, memory and network of the test process during the measured
    /// phase, sampled once per second (Linux; absent elsewhere).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<crate::model::resources::Resources>,
    /// The load generator could not keep up (its CPU, or its schedule):
    /// the latencies include its own queueing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub saturation: Option<crate::model::resources::Saturation>,
    /// The CPU profile of the measured phase (`cpu_profile`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_profile: Option<crate::model::profile::CpuProfile>,
    /// The heap profile of the run (`heap_profile`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub heap_profile: Option<crate::model::profile::HeapProfile>,
    /// Why the test did not run (its `gate` was not set).
    #[serde(default)]
    pub skipped: Option<String>,
    /// Built with debug assertions (an unoptimised build, most likely).
    pub debug_build: bool,
    /// Every threshold held, and the run neither timed out nor aborted.
    pub passed: bool,
    /// The latency histogram, HdrHistogram V2 + DEFLATE, base64.
    #[serde(with = "crate::model::codec::serde_histogram")]
    pub histogram: Histogram<u64>,
    /// Where this report was written, if anywhere.
    #[serde(skip)]
    pub path: Option<PathBuf>,
    /// The shard this run was, in a distributed test (its thresholds are
    /// judged on the merged result, not here).
    #[serde(default)]
    pub shard: Option<Shard>,
    /// A shard's result, for merging.
    #[serde(skip)]
    pub(crate) shard_result: Option<Box<ShardResult>>,
    /// Whether the summary was printed (stderr, or the harness's capture):
    /// then a failure's panic message does not repeat it.
    #[serde(skip)]
    pub(crate) printed: bool,
    /// The test is `#[should_panic]`: a failure is what it expects.
    #[serde(skip)]
    pub(crate) expected_to_fail: bool,
    /// With `runs = N` (N > 1): each run's own figures; the fields above
    /// are of all runs together.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub runs: Vec<RunFigures>,
    /// The confidence of the intervals and what an inconclusive verdict
    /// did.
    #[serde(default)]
    pub judging: Judging,
    /// The machine's calibration, measured when the report was compared
    /// with a baseline or saved as one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub calibration: Option<Calibration>,
    /// `repeat = "auto"`: the looks the run took and why it stopped. Its
    /// thresholds are judged at the stopping look's confidence
    /// ([`Report::judged_at`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auto: Option<crate::model::auto::AutoRun>,
    /// With `exclusive = false`: that another perf test ran beside this
    /// one, in words.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub overlapped: Option<String>,
    /// How long the test waited for its turn, when it waited a second or
    /// more (see `exclusive`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub waited_ns: Option<u64>,
}

impl std::fmt::Debug for Report {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Report")
            .field("name", &self.name)
            .field("passed", &self.passed)
            .field("iterations", &self.iterations)
            .field("errors", &self.errors)
            .field("elapsed", &Duration::from_nanos(self.elapsed_ns))
            .field("throughput", &self.throughput)
            .field("latency", &self.latency)
            .field(
                "thresholds",
                &self
                    .thresholds
                    .iter()
                    .map(|t| {
                        let held = if t.passed { "held" } else { "broken" };
                        format!("{}: {} {held}", t.threshold, t.observed_display)
                    })
                    .collect::<Vec<_>>(),
            )
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl Report {
    /// How its thresholds were judged: [`judging`](Self::judging), at the
    /// stopping look's confidence for a `repeat = "auto"` run.
    pub fn judged_at(&self) -> crate::model::threshold::Judging {
        match &self.auto {
            Some(auto) => crate::model::threshold::Judging {
                confidence: auto.confidence,
                ..self.judging
            },
            None => self.judging,
        }
    }

    /// The report of a test its gate kept from running.
    pub(crate) fn skipped(name: String, load: LoadShape, reason: String) -> Report {
        let empty = new_histogram();
        Report {
            schema_version: REPORT_SCHEMA_VERSION,
            name,
            package: None,
            load,
            started_at_unix_ms: 0,
            elapsed_ns: 0,
            iterations: 0,
            errors: 0,
            timeouts: 0,
            panics: 0,
            saturated: 0,
            dropped: 0,
            error_rate: 0.0,
            dropped_rate: 0.0,
            throughput: 0.0,
            latency: LatencyStats::of(&empty, &[]),
            service: None,
            start_delay: None,
            capacity: None,
            phases: Vec::new(),
            error_counts: Vec::new(),
            first_errors: Vec::new(),
            warmup: None,
            thresholds: Vec::new(),
            error_classes: Default::default(),
            tags: Default::default(),
            custom: Default::default(),
            tag_histograms: Default::default(),
            memory: None,
            baseline: None,
            timeline: Vec::new(),
            timed_out: false,
            aborted: None,
            interrupted: false,
            still_running: None,
            unscheduled: 0,
            batching: None,
            resources: None,
            saturation: None,
            cpu_profile: None,
            heap_profile: None,
            skipped: Some(reason),
            debug_build: false,
            passed: true,
            histogram: empty,
            path: None,
            shard: None,
            shard_result: None,
            runs: Vec::new(),
            judging: Judging::default(),
            calibration: None,
            auto: None,
            overlapped: None,
            waited_ns: None,
            printed: false,
            expected_to_fail: false,
        }
    }

    /// A shard's result (when this run was one shard of a distributed
    /// test), for [`merge`](crate::shard::merge).
    pub fn shard_result(&self) -> Option<&ShardResult> {
        self.shard_result.as_deref()
    }

    /// Length of the measured phase.
    pub fn elapsed(&self) -> Duration {
        Duration::from_nanos(self.elapsed_ns)
    }

    /// Any percentile of the latency distribution, from the histogram
    /// (within 0.1%, HdrHistogram's precision at 3 significant digits).
    pub fn percentile(&self, p: f64) -> Duration {
        Duration::from_nanos(percentile_ns(&self.histogram, p))
    }

    /// The thresholds that did not hold.
    pub fn failed_thresholds(&self) -> impl Iterator<Item = &ThresholdOutcome> {
        self.thresholds.iter().filter(|t| !t.passed)
    }

    /// A report written by a newer perf-runtime cannot be read as this one
    /// reads it: refuse it rather than misread it. Nor one whose figures
    /// no run could have produced (a capacity of 1e300, negative CPU
    /// time, more errors than iterations): the error names the field.
    pub fn check_schema(&self) -> Result<(), String> {
        if self.schema_version > REPORT_SCHEMA_VERSION {
            return Err(format!(
                "report schema version {} was written by a newer perf-runtime; this one reads schema version {REPORT_SCHEMA_VERSION}",
                self.schema_version
            ));
        }
        self.check_figures()
            .map_err(|(field, reason)| format!("field `{field}` {reason}"))
    }
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// The `p`th percentile in nanoseconds (0 for an empty histogram).
pub(crate) fn percentile_ns(h: &Histogram<u64>, p: f64) -> u64 {
    if h.is_empty() {
        0
    } else {
        h.value_at_quantile(p / 100.0)
    }
}
