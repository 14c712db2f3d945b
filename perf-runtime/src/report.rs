//! The result of a run: figures, threshold verdicts, and the JSON file.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, UNIX_EPOCH};

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

use crate::baseline::BaselineComparison;
use crate::load::LoadShape;
use crate::memory::MemoryStats;
use crate::recorder::{new_histogram, ErrorCount, ErrorSample};
use crate::scheduler::Measured;
use crate::threshold::{Figures, Threshold, ThresholdOutcome};
use crate::timeline::TimelinePoint;
use crate::Error;

/// Version of the JSON report's schema; bumped on incompatible changes.
pub const REPORT_SCHEMA_VERSION: u32 = 1;

/// Percentiles every report lists, besides those thresholds ask for.
const STANDARD_PERCENTILES: [f64; 6] = [50.0, 75.0, 90.0, 95.0, 99.0, 99.9];

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
    fn of(h: &Histogram<u64>, percentiles: &[f64]) -> LatencyStats {
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

    fn of(c: &crate::recorder::CustomAgg, percentiles: &[f64]) -> CustomStats {
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

/// Everything a run measured, and its verdict. Serialised as the JSON
/// report (`schema_version` [`REPORT_SCHEMA_VERSION`]).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Report {
    /// Schema version of this JSON.
    pub schema_version: u32,
    /// The test's full name (`module::path::test_name`).
    pub name: String,
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
    pub still_running: Option<crate::scheduler::StillRunning>,
    /// Open model: arrivals the load generator could not start on schedule
    /// (it fell behind the rate), as opposed to `dropped` (no free worker).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub unscheduled: u64,
    /// Why the test did not run (its `gate` was not set).
    #[serde(default)]
    pub skipped: Option<String>,
    /// Built with debug assertions (an unoptimised build, most likely).
    pub debug_build: bool,
    /// Every threshold held, and the run neither timed out nor aborted.
    pub passed: bool,
    /// The latency histogram, HdrHistogram V2 + DEFLATE, base64.
    #[serde(with = "histogram_base64")]
    pub histogram: Histogram<u64>,
    /// Where this report was written, if anywhere.
    #[serde(skip)]
    pub path: Option<PathBuf>,
    /// The shard this run was, in a distributed test (its thresholds are
    /// judged on the merged result, not here).
    #[serde(default)]
    pub shard: Option<crate::shard::Shard>,
    /// A shard's result, for merging.
    #[serde(skip)]
    pub(crate) shard_result: Option<Box<crate::shard::ShardResult>>,
}

impl Report {
    pub(crate) fn build(
        name: String,
        load: LoadShape,
        m: Measured,
        thresholds: &[Threshold],
        debug_build: bool,
        path: Option<PathBuf>,
    ) -> Report {
        let main = m.main;
        let mut wanted: Vec<f64> = STANDARD_PERCENTILES.to_vec();
        for t in thresholds {
            match t.metric() {
                perf_spec::Metric::Percentile(p)
                | perf_spec::Metric::Custom {
                    stat: perf_spec::Stat::Percentile(p),
                    ..
                } => wanted.push(p.value()),
                _ => {}
            }
        }
        wanted.sort_by(f64::total_cmp);
        wanted.dedup();
        let secs = m.elapsed.as_secs_f64();
        let scheduled = main.iterations + main.dropped;
        let custom: BTreeMap<String, CustomStats> = main
            .custom
            .iter()
            .map(|(name, c)| (name.clone(), CustomStats::of(c, &wanted)))
            .collect();
        let whole = Figures {
            memory: m.memory.as_ref(),
            classes: Some(&main.classes),
            custom: Some(&custom),
            iterations: main.iterations,
            errors: main.errors,
            dropped: main.dropped,
            seconds: secs,
            latency: &main.histogram,
        };
        // Windows only cover seconds that ended before the run did.
        let complete = m.elapsed.as_secs() as u32;
        let tag_figures = |tag: &str| {
            main.tags
                .get(tag)
                .map(|t| Figures::tagged(&t.latency, t.errors, secs))
        };
        let mut outcomes: Vec<ThresholdOutcome> = thresholds
            .iter()
            .map(|t| match t.tag() {
                // A tag never seen has no data: the threshold fails.
                Some(tag) => t.evaluate(
                    &tag_figures(tag).unwrap_or_else(|| Figures::empty()),
                    &Default::default(),
                    0,
                ),
                None => t.evaluate(&whole, &main.timeline, complete),
            })
            .collect();
        let declared = |m: &[perf_spec::Metric]| thresholds.iter().any(|t| m.contains(&t.metric()));
        let mut defaults = Vec::new();
        if !declared(&[perf_spec::Metric::ErrorRate]) {
            defaults.push(Threshold::default_error_rate());
        }
        if load.is_open()
            && !declared(&[perf_spec::Metric::Dropped, perf_spec::Metric::DroppedRate])
        {
            defaults.push(Threshold::default_dropped_rate());
        }
        for t in defaults {
            let mut implicit = t.evaluate(&whole, &main.timeline, complete);
            implicit.default = true;
            outcomes.push(implicit);
        }
        let passed = !m.timed_out
            && !m.interrupted
            && m.aborted.is_none()
            && outcomes.iter().all(|t| t.passed);
        let tags = main
            .tags
            .iter()
            .map(|(tag, t)| {
                let iterations = t.latency.len();
                let stats = TagStats {
                    iterations,
                    errors: t.errors,
                    error_rate: if iterations == 0 {
                        0.0
                    } else {
                        t.errors as f64 / iterations as f64
                    },
                    latency: LatencyStats::of(&t.latency, &wanted),
                };
                (tag.clone(), stats)
            })
            .collect();
        let tag_histograms = main
            .tags
            .into_iter()
            .map(|(tag, t)| (tag, t.latency))
            .collect();
        Report {
            schema_version: REPORT_SCHEMA_VERSION,
            name,
            load,
            started_at_unix_ms: m
                .started_at
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_millis() as u64),
            elapsed_ns: m.elapsed.as_nanos() as u64,
            iterations: main.iterations,
            errors: main.errors,
            timeouts: main.timeouts,
            panics: main.panics,
            saturated: main.saturated,
            dropped: main.dropped,
            error_rate: if main.iterations == 0 {
                0.0
            } else {
                main.errors as f64 / main.iterations as f64
            },
            dropped_rate: if scheduled == 0 {
                0.0
            } else {
                main.dropped as f64 / scheduled as f64
            },
            throughput: if secs > 0.0 {
                main.iterations as f64 / secs
            } else {
                0.0
            },
            latency: LatencyStats::of(&main.histogram, &wanted),
            service: main.service.as_ref().map(|h| LatencyStats::of(h, &wanted)),
            error_counts: main.error_counts,
            first_errors: main.first_errors,
            warmup: m.warmup.map(|w| WarmupStats {
                iterations: w.iterations,
                errors: w.errors,
            }),
            thresholds: outcomes,
            error_classes: main.classes,
            tags,
            custom,
            tag_histograms,
            memory: m.memory,
            baseline: None,
            timeline: main.timeline.points(),
            timed_out: m.timed_out,
            aborted: m.aborted,
            interrupted: m.interrupted,
            still_running: m.stopped,
            unscheduled: m.unscheduled,
            skipped: None,
            debug_build,
            passed,
            histogram: main.histogram,
            path,
            shard: None,
            shard_result: None,
        }
    }

    /// A report built from recorded data rather than a run: a latency
    /// histogram (every iteration, failed ones included), how many failed,
    /// and how long the run took. For tools and tests that need reports
    /// with known contents.
    pub fn from_parts(
        name: impl Into<String>,
        histogram: Histogram<u64>,
        errors: u64,
        elapsed: Duration,
    ) -> Report {
        let mut timeline = crate::timeline::Timeline::default();
        let mut second = crate::timeline::Second::new();
        second.add_histogram(&histogram);
        second.iterations = histogram.len();
        second.errors = errors;
        timeline.add(0, &second);
        let recorded = crate::recorder::Recorded {
            classes: Default::default(),
            tags: Default::default(),
            custom: Default::default(),
            iterations: histogram.len(),
            errors,
            timeouts: 0,
            panics: 0,
            saturated: 0,
            dropped: 0,
            error_counts: Vec::new(),
            first_errors: Vec::new(),
            service: None,
            timeline,
            histogram,
        };
        let measured = Measured::of(recorded, UNIX_EPOCH, elapsed);
        let load = LoadShape {
            stop: crate::load::Stop::Repeat(measured.main.iterations.max(1)),
            ..LoadShape::default()
        };
        Report::build(name.into(), load, measured, &[], false, None)
    }

    /// The report of a test its gate kept from running.
    pub(crate) fn skipped(name: String, load: LoadShape, reason: String) -> Report {
        let empty = crate::recorder::new_histogram();
        Report {
            schema_version: REPORT_SCHEMA_VERSION,
            name,
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
            skipped: Some(reason),
            debug_build: false,
            passed: true,
            histogram: empty,
            path: None,
            shard: None,
            shard_result: None,
        }
    }

    /// A shard's result (when this run was one shard of a distributed
    /// test), for [`merge`](crate::shard::merge).
    pub fn shard_result(&self) -> Option<&crate::shard::ShardResult> {
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

    /// The end-of-test summary, as printed.
    pub fn summary(&self) -> String {
        crate::summary::render(self)
    }

    /// Panics with the summary if a threshold broke or the run timed out.
    /// The message names each failed threshold's metric, observed value and
    /// limit.
    #[track_caller]
    pub fn assert_passed(&self) {
        if !self.passed {
            panic!("{}", crate::summary::failure(self));
        }
    }

    /// Writes the report as JSON to `path`, atomically: a temporary file in
    /// the same directory, renamed over the target, so a crash never leaves
    /// half a file.
    pub fn write_json(&self, path: &Path) -> Result<(), Error> {
        let io = |source| Error::Report {
            path: path.to_owned(),
            source,
        };
        let mut json = serde_json::to_vec_pretty(self).map_err(|e| io(e.into()))?;
        json.push(b'\n');
        write_atomically(path, &json).map_err(io)
    }

    /// Reads a report written by [`write_json`](Self::write_json).
    pub fn read_json(path: &Path) -> Result<Report, Error> {
        let io = |source| Error::Report {
            path: path.to_owned(),
            source,
        };
        let text = std::fs::read_to_string(path).map_err(io)?;
        let invalid = |e: String| io(std::io::Error::new(std::io::ErrorKind::InvalidData, e));
        let mut report: Report = serde_json::from_str(&text).map_err(|e| invalid(e.to_string()))?;
        report.check_schema().map_err(invalid)?;
        report.path = Some(path.to_owned());
        Ok(report)
    }

    /// A report written by a newer perf-runtime cannot be read as this one
    /// reads it: refuse it rather than misread it.
    pub fn check_schema(&self) -> Result<(), String> {
        if self.schema_version > REPORT_SCHEMA_VERSION {
            return Err(format!(
                "report schema version {} was written by a newer perf-runtime; this one reads schema version {REPORT_SCHEMA_VERSION}",
                self.schema_version
            ));
        }
        Ok(())
    }
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// Writes `bytes` to `path` through a temporary file in the same directory
/// and a rename, so that readers see the old file or the new one, never
/// half of one, and a link at `path` is replaced, not followed. Creates the
/// directory. The file gets the mode the umask gives a new file (0644
/// under 022), as files meant to be committed and shared should, and
/// temporaries that a killed writer left behind are removed.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    remove_stale_temporaries(dir);
    let mut builder = tempfile::Builder::new();
    builder.prefix(TEMP_PREFIX);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        // The kernel applies the umask to this mode, as for any new file.
        builder.permissions(std::fs::Permissions::from_mode(0o666));
    }
    let mut tmp = builder.tempfile_in(dir)?;
    tmp.write_all(bytes)?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

/// The prefix of [`write_atomically`]'s temporaries (tempfile adds six
/// random characters).
const TEMP_PREFIX: &str = ".perf-";

/// A temporary older than this is a killed writer's: a write takes
/// milliseconds.
const STALE_AFTER: Duration = Duration::from_secs(10 * 60);

/// Whether `name` is one of [`write_atomically`]'s temporaries.
fn is_our_temporary(name: &str) -> bool {
    name.strip_prefix(TEMP_PREFIX)
        .is_some_and(|rest| rest.len() == 6 && rest.bytes().all(|b| b.is_ascii_alphanumeric()))
}

fn remove_stale_temporaries(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        if !name.to_str().is_some_and(is_our_temporary) {
            continue;
        }
        let stale = entry.metadata().is_ok_and(|m| {
            m.is_file()
                && m.modified()
                    .ok()
                    .and_then(|t| t.elapsed().ok())
                    .is_some_and(|age| age > STALE_AFTER)
        });
        if stale {
            // Another process may have removed it first: nothing to report.
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

/// The `p`th percentile in nanoseconds (0 for an empty histogram).
pub(crate) fn percentile_ns(h: &Histogram<u64>, p: f64) -> u64 {
    if h.is_empty() {
        0
    } else {
        h.value_at_quantile(p / 100.0)
    }
}

/// `<target dir>/perf`, or `PERF_REPORT_DIR` if set.
///
/// The target directory is `CARGO_TARGET_DIR` if set, else found from the
/// test executable's path (cargo marks its target directory with a
/// `CACHEDIR.TAG` file), else `target` in the current directory.
pub(crate) fn default_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("PERF_REPORT_DIR").filter(|d| !d.is_empty()) {
        return PathBuf::from(dir);
    }
    if let Some(dir) = std::env::var_os("CARGO_TARGET_DIR").filter(|d| !d.is_empty()) {
        return PathBuf::from(dir).join("perf");
    }
    let from_exe = std::env::current_exe().ok().and_then(|exe| {
        exe.ancestors()
            .skip(1)
            .find(|d| d.join("CACHEDIR.TAG").is_file())
            .map(Path::to_owned)
    });
    from_exe
        .unwrap_or_else(|| PathBuf::from("target"))
        .join("perf")
}

/// `<dir>/<part>/<part>/<last>.json` for a `::`-separated test name.
///
/// Each part becomes one file name by [`file_name_part`]: injective (two
/// different test names never share a file), readable for ASCII names,
/// never `.`, `..` or hidden, and at most [`MAX_NAME_BYTES`] bytes, so no
/// name escapes `dir` or fails with "File name too long".
pub fn report_path(dir: &Path, name: &str) -> PathBuf {
    let mut path = dir.to_owned();
    let parts: Vec<String> = name.split("::").map(file_name_part).collect();
    let (last, dirs) = parts.split_last().expect("split yields at least one part");
    for part in dirs {
        path.push(part);
    }
    path.push(format!("{last}.json"));
    path
}

/// The longest file name [`file_name_part`] makes, leaving room under the
/// usual 255-byte limit for suffixes such as `.shard-12-of-16.json`.
pub const MAX_NAME_BYTES: usize = 200;

/// One part of a test name as a file name. `[A-Za-z0-9_-]` and inner dots
/// stay as they are; every other byte (a leading dot, `/`, `~`, each byte
/// of a non-ASCII character) becomes `~xx` in hex, and an empty part is
/// `~`. `~` only ever starts an escape, so the mapping is injective:
/// `größe` is `gr~c3~b6~c3~9fe`, `grüße` is `gr~c3~bc~c3~9fe`. A result
/// longer than [`MAX_NAME_BYTES`] is cut and ends in `~h` and a 64-bit
/// FNV-1a hash of the whole part (stable across versions and platforms).
pub fn file_name_part(part: &str) -> String {
    use std::fmt::Write as _;
    if part.is_empty() {
        return "~".to_owned();
    }
    let mut out = String::with_capacity(part.len());
    for (i, &b) in part.as_bytes().iter().enumerate() {
        let keep = b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || (b == b'.' && i > 0);
        if keep {
            out.push(b as char);
        } else {
            let _ = write!(out, "~{b:02x}");
        }
    }
    if out.len() <= MAX_NAME_BYTES {
        return out;
    }
    let hash = part.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    // Cut on a character boundary (the text is ASCII) and not inside an
    // escape, so that the cut name is still a prefix of escapes and bytes.
    let mut cut = MAX_NAME_BYTES - 18;
    if let Some(tilde) = out[cut.saturating_sub(2)..cut].find('~') {
        cut = cut - 2 + tilde;
    }
    out.truncate(cut);
    let _ = write!(out, "~h{hash:016x}");
    out
}

/// Writes the summary to the process's stderr in one write, bypassing the
/// test harness's capture so that a passing test's figures are seen too.
/// `PERF_SUMMARY=captured` prints through the harness instead (shown only
/// for failing tests or with `--nocapture`); `PERF_SUMMARY=never` prints
/// nothing.
pub(crate) fn print_summary(summary: &str) {
    use crate::env::SummaryMode;
    // Checked before the run (`env::check`); a bad value prints to stderr.
    match crate::env::summary_mode(&crate::env::process).unwrap_or(SummaryMode::Stderr) {
        SummaryMode::Never => {}
        SummaryMode::Captured => println!("{summary}"),
        SummaryMode::Stderr => {
            let _ = std::io::stderr()
                .lock()
                .write_all(format!("{summary}\n").as_bytes());
        }
    }
}

mod histogram_base64 {
    use super::*;
    use serde::de::Error as _;

    pub(super) fn serialize<S: serde::Serializer>(
        h: &Histogram<u64>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        s.serialize_str(&crate::codec::encode(h))
    }

    pub(super) fn deserialize<'de, D: serde::Deserializer<'de>>(
        d: D,
    ) -> Result<Histogram<u64>, D::Error> {
        let text = String::deserialize(d)?;
        let h: Histogram<u64> = crate::codec::decode(&text).map_err(D::Error::custom)?;
        let mut merged = new_histogram();
        merged
            .add(&h)
            .map_err(|e| D::Error::custom(format!("{e:?}")))?;
        Ok(merged)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn report_paths_stay_inside_the_directory() {
        let dir = Path::new("/t/perf");
        assert_eq!(
            report_path(dir, "behaviour::basic::fast"),
            Path::new("/t/perf/behaviour/basic/fast.json")
        );
        assert_eq!(
            report_path(dir, "../../etc/passwd"),
            Path::new("/t/perf/~2e.~2f..~2fetc~2fpasswd.json")
        );
        assert_eq!(
            report_path(dir, "a::..::b"),
            Path::new("/t/perf/a/~2e./b.json")
        );
        assert_eq!(
            report_path(dir, "a::/abs"),
            Path::new("/t/perf/a/~2fabs.json")
        );
        assert_eq!(report_path(dir, "a::::b"), Path::new("/t/perf/a/~/b.json"));
        assert!(report_path(dir, "x::v1.2").ends_with("x/v1.2.json"));
    }

    #[cfg(unix)]
    #[test]
    fn written_files_get_the_umask_mode_and_stale_temporaries_go() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        // A killed writer's temporary, an hour old, and a fresh one (a
        // writer at work) that must stay; a file of the user's own too.
        let stale = dir.path().join(".perf-AbC123");
        let fresh = dir.path().join(".perf-XyZ789");
        let theirs = dir.path().join(".perf-notes.txt");
        for f in [&stale, &fresh, &theirs] {
            std::fs::write(f, "x").unwrap();
        }
        let old = std::time::SystemTime::now() - Duration::from_secs(3600);
        std::fs::File::options()
            .write(true)
            .open(&stale)
            .unwrap()
            .set_modified(old)
            .unwrap();
        let path = dir.path().join("r.json");
        write_atomically(&path, b"{}").unwrap();
        assert!(!stale.exists() && fresh.exists() && theirs.exists());
        // What a new file gets under this process's umask.
        let plain = dir.path().join("plain");
        std::fs::write(&plain, "").unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        // Under the usual umask 022 both are 0644; tempfile's private
        // default would make the report 0600.
        assert_eq!(mode(&path), mode(&plain));
    }

    #[cfg(unix)]
    #[test]
    fn a_link_at_the_destination_is_replaced_not_followed() {
        let dir = tempfile::tempdir().unwrap();
        let victim = dir.path().join("victim");
        std::fs::write(&victim, "keep").unwrap();
        let link = dir.path().join("index.html");
        std::os::unix::fs::symlink(&victim, &link).unwrap();
        write_atomically(&link, b"new").unwrap();
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "keep");
        assert_eq!(std::fs::read_to_string(&link).unwrap(), "new");
    }

    #[test]
    fn non_ascii_names_get_files_of_their_own() {
        let dir = Path::new("/t");
        for (a, b) in [
            ("größe", "grüße"),
            ("読み込み", "書き込み"),
            ("a_b", "a~5fb"),
            ("a b", "a_b"),
        ] {
            assert_ne!(report_path(dir, a), report_path(dir, b), "{a} / {b}");
        }
        assert_eq!(file_name_part("größe"), "gr~c3~b6~c3~9fe");
    }

    #[test]
    fn long_parts_are_cut_with_a_stable_hash() {
        let long = "x".repeat(300);
        let name = file_name_part(&long);
        assert!(name.len() <= MAX_NAME_BYTES, "{}", name.len());
        assert_eq!(name, file_name_part(&long), "stable");
        assert_ne!(name, file_name_part(&format!("{long}y")));
        // Cut inside an escape: the escape goes whole or not at all.
        let escapes = "é".repeat(200);
        let name = file_name_part(&escapes);
        assert!(name.len() <= MAX_NAME_BYTES);
        let before_hash = name.rsplit_once("~h").unwrap().0;
        assert!(
            before_hash.split('~').skip(1).all(|e| e.len() == 2),
            "{name}"
        );
    }

    proptest! {
        #[test]
        fn any_name_stays_inside(name in "\\PC{0,40}") {
            let dir = Path::new("/t/perf");
            let p = report_path(dir, &name);
            prop_assert!(p.starts_with(dir));
            prop_assert!(p.components().all(|c| !matches!(c, std::path::Component::ParentDir)));
            prop_assert!(p.strip_prefix(dir).unwrap().components().all(|c| c.as_os_str().len() <= MAX_NAME_BYTES + 5));
        }

        /// Different parts never share a file name.
        #[test]
        fn file_names_are_injective(a in "\\PC{0,12}", b in "\\PC{0,12}") {
            prop_assume!(a != b);
            prop_assert_ne!(file_name_part(&a), file_name_part(&b));
        }

        /// HdrHistogram's percentile against the exact nearest-rank
        /// percentile of the sorted samples: never below it, and above it
        /// by at most the histogram's precision (3 significant digits).
        #[test]
        fn percentiles_match_a_sorted_vector(
            samples in proptest::collection::vec(1u64..10_000_000_000, 1..2000),
            p in 0.1f64..100.0,
        ) {
            let mut h = new_histogram();
            for &s in &samples {
                h.record(s).unwrap();
            }
            let mut sorted = samples.clone();
            sorted.sort_unstable();
            let rank = ((p / 100.0) * sorted.len() as f64).ceil().max(1.0) as usize;
            let exact = sorted[rank - 1];
            let got = percentile_ns(&h, p);
            prop_assert!(got >= exact && got as f64 <= exact as f64 * 1.001 + 1.0, "p{p}: exact {exact}, hdr {got}");
        }
    }
}
