//! What a run measured, before any judging: each phase's merged
//! histograms, counts, errors, tags, custom metrics and timeline
//! ([`Recorded`]), and the run around them ([`Measured`]). Defined once;
//! the recorder fills it, a shard's result carries it, the merge adds it.

use std::collections::hash_map::Entry;
use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, SystemTime};

use hdrhistogram::{Counter, Histogram};
use serde::{Deserialize, Serialize};

use crate::model::memory::MemoryStats;
use crate::model::shard::{EncodedHistogram, RecordedData};
use crate::model::timeline::{Second, Timeline};

/// Largest latency recorded as itself (one hour); longer ones are recorded
/// as this value and counted as saturated.
pub(crate) const MAX_LATENCY_NS: u64 = 3_600_000_000_000;
/// Significant digits kept by every latency histogram.
pub(crate) const SIGFIG: u8 = 3;
/// First errors kept with their iteration index.
pub(crate) const FIRST_ERRORS: usize = 10;

/// What went wrong in an iteration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// The iteration returned `Err`.
    Error,
    /// The iteration panicked.
    Panic,
    /// The iteration ran past `iteration_timeout` and was cancelled.
    Timeout,
}

/// One of the first errors of a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorSample {
    /// The iteration index.
    pub iteration: u64,
    /// The worker that ran it.
    pub worker: usize,
    /// Error, panic or timeout.
    pub kind: ErrorKind,
    /// The error's `Debug` text, or the panic's message and location.
    pub message: String,
}

/// How often one distinct error message occurred.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorCount {
    /// Error, panic or timeout.
    pub kind: ErrorKind,
    /// The group's message: the messages with URLs, long numbers and ids
    /// replaced (`<url>`, `<n>`, `<id>`; `"(other messages)"` past the
    /// first 100 groups).
    pub message: String,
    /// Occurrences.
    pub count: u64,
    /// One whole message of the group, as the iteration gave it.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub example: String,
    /// The innermost cause the messages name (`Connection refused`), if
    /// they name one apart from themselves.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cause: Option<String>,
}

/// Latency of the iterations with one tag.
pub(crate) struct TagAgg {
    pub(crate) latency: Histogram<u64>,
    pub(crate) errors: u64,
}

/// A custom metric's values.
#[derive(Debug, Clone)]
pub(crate) struct CustomAgg {
    pub(crate) kind: &'static str,
    pub(crate) count: u64,
    pub(crate) sum: f64,
    pub(crate) min: f64,
    pub(crate) max: f64,
    /// Durations only, in nanoseconds.
    pub(crate) histogram: Option<Histogram<u64>>,
    /// The sum of squared deviations from the mean (Welford's update,
    /// Chan's merge); `None` when a part came without it (a shard result
    /// of an older version), and then the mean has no interval.
    pub(crate) m2: Option<f64>,
}

impl CustomAgg {
    /// No values yet.
    pub(crate) fn new(kind: &'static str, histogram: Option<Histogram<u64>>) -> CustomAgg {
        CustomAgg {
            kind,
            count: 0,
            sum: 0.0,
            min: f64::INFINITY,
            max: f64::NEG_INFINITY,
            histogram,
            m2: Some(0.0),
        }
    }

    /// Adds one value (a duration's histogram is recorded by the caller).
    pub(crate) fn add_value(&mut self, v: f64) {
        let before = if self.count == 0 {
            0.0
        } else {
            self.sum / self.count as f64
        };
        self.count += 1;
        self.sum += v;
        self.min = self.min.min(v);
        self.max = self.max.max(v);
        let after = self.sum / self.count as f64;
        self.m2 = self.m2.map(|m2| m2 + (v - before) * (v - after));
    }

    /// Adds another part's counts: `count` values summing to `sum`, with
    /// squared deviations `m2` about their own mean.
    pub(crate) fn add_part(&mut self, count: u64, sum: f64, m2: Option<f64>, min: f64, max: f64) {
        let (n_a, n_b) = (self.count as f64, count as f64);
        self.m2 = match (self.m2, m2) {
            (Some(a), Some(b)) if n_a > 0.0 && n_b > 0.0 => {
                let delta = sum / n_b - self.sum / n_a;
                Some(a + b + delta * delta * n_a * n_b / (n_a + n_b))
            }
            (Some(a), Some(b)) => Some(a + b),
            _ => None,
        };
        self.count += count;
        self.sum += sum;
        self.min = self.min.min(min);
        self.max = self.max.max(max);
    }

    /// The values' sample standard deviation, if known.
    pub(crate) fn stdev(&self) -> Option<f64> {
        let m2 = self.m2?;
        (self.count >= 2 && m2.is_finite() && m2 >= 0.0)
            .then(|| (m2 / (self.count - 1) as f64).sqrt())
    }
}

/// The merged result of a phase.
pub(crate) struct Recorded {
    /// Latency from the scheduled start (open model) or the actual start.
    pub(crate) histogram: Histogram<u64>,
    /// Open model only: latency from the actual start.
    pub(crate) service: Option<Histogram<u64>>,
    /// Open model only: how late each iteration began after it was due.
    pub(crate) start_delay: Option<Histogram<u64>>,
    pub(crate) timeline: Timeline,
    pub(crate) iterations: u64,
    pub(crate) errors: u64,
    pub(crate) timeouts: u64,
    pub(crate) panics: u64,
    pub(crate) saturated: u64,
    pub(crate) dropped: u64,
    pub(crate) error_counts: Vec<ErrorCount>,
    pub(crate) first_errors: Vec<ErrorSample>,
    /// Failed iterations per error class.
    pub(crate) classes: std::collections::BTreeMap<String, u64>,
    /// Tagged iterations' latency, by tag.
    pub(crate) tags: std::collections::BTreeMap<String, TagAgg>,
    /// Custom metrics, by name.
    pub(crate) custom: std::collections::BTreeMap<String, CustomAgg>,
}

pub(crate) fn new_histogram() -> Histogram<u64> {
    // Auto-resizing: memory follows the largest value actually recorded.
    Histogram::new(SIGFIG).expect("3 significant digits is a valid histogram precision")
}

/// What a run measured.
pub(crate) struct Measured {
    pub(crate) started_at: SystemTime,
    pub(crate) warmup: Option<Recorded>,
    pub(crate) main: Recorded,
    pub(crate) elapsed: Duration,
    pub(crate) timed_out: bool,
    /// Why the run was stopped early by `abort_on_fail`.
    pub(crate) aborted: Option<String>,
    /// With the tracking allocator: the measured phase's memory figures.
    pub(crate) memory: Option<MemoryStats>,
    /// `SIGINT` or `SIGTERM` stopped the run.
    pub(crate) interrupted: bool,
    /// What was still running when the watchdog stopped the run.
    pub(crate) stopped: Option<StillRunning>,
    /// Open model: arrivals the generator could not start on schedule.
    pub(crate) unscheduled: u64,
    /// `repeat = "auto"`: the looks taken and why the run stopped.
    pub(crate) auto: Option<crate::model::auto::AutoRun>,
    /// Closed model: whether samples covered several iterations.
    pub(crate) batching: Option<Batching>,
    /// What the process used during the measured phase.
    pub(crate) resources: Option<crate::model::resources::Resources>,
    /// The CPU profile of the measured phase (`cpu_profile`), on the
    /// first run's figures.
    pub(crate) cpu_profile: Option<crate::model::profile::CpuProfile>,
    /// The heap profile (`heap_profile`), on the first run's figures.
    pub(crate) heap_profile: Option<crate::model::profile::HeapProfile>,
    /// The machine check's calibrations taken around this run (before it,
    /// and after it when it is the last), when the test compares with or
    /// saves a baseline; a merged measurement holds all of its runs'.
    pub(crate) calibrations: Vec<crate::model::runs::Calibration>,
}

/// Samples that covered several iterations each (see
/// [`Batch`](crate::Batch)): the body was so short that two clock reads
/// per iteration would have been more than 1% of what was measured.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Batching {
    /// What one `Instant::now()` cost on this machine, measured at start.
    pub clock_ns: f64,
    /// The most iterations one sample covered.
    pub iterations_per_sample: u64,
    /// Iterations recorded as part of a batch (the rest, such as each
    /// worker's first few, were timed one by one).
    pub batched_iterations: u64,
}

impl Batching {
    /// Two runs' or shards' batching as one: the cheapest clock, the
    /// largest batch, and all batched iterations.
    pub(crate) fn combine(self, other: Batching) -> Batching {
        Batching {
            clock_ns: self.clock_ns.min(other.clock_ns),
            iterations_per_sample: self.iterations_per_sample.max(other.iterations_per_sample),
            batched_iterations: self
                .batched_iterations
                .saturating_add(other.batched_iterations),
        }
    }
}

/// Iterations still running when a run was stopped (timeout, signal, a
/// blocked iteration), and how many of them never let go of their thread.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct StillRunning {
    /// Iterations in flight when the run was stopped.
    pub iterations: usize,
    /// Of which still running a second later: their tasks were abandoned
    /// (their threads are blocked and are left behind).
    pub abandoned: usize,
}

impl Measured {
    /// What a run of `main` measured, nothing else to say about it.
    pub(crate) fn of(main: Recorded, started_at: SystemTime, elapsed: Duration) -> Measured {
        Measured {
            started_at,
            warmup: None,
            main,
            elapsed,
            timed_out: false,
            aborted: None,
            memory: None,
            interrupted: false,
            stopped: None,
            unscheduled: 0,
            auto: None,
            batching: None,
            resources: None,
            cpu_profile: None,
            heap_profile: None,
            calibrations: Vec::new(),
        }
    }

    /// Whether tasks were abandoned on blocked threads: the runtime must
    /// then be shut down in the background, not waited for.
    pub(crate) fn abandoned(&self) -> bool {
        self.stopped.is_some_and(|s| s.abandoned > 0)
    }
}

impl Recorded {
    pub(crate) fn empty(open: bool) -> Recorded {
        Recorded {
            histogram: new_histogram(),
            service: open.then(new_histogram),
            start_delay: open.then(new_histogram),
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
    pub(crate) fn add_data(&mut self, d: &RecordedData, offset: u32) -> Result<(), String> {
        add(&mut self.histogram, &latencies(&d.histogram)?)?;
        if let Some(s) = &d.service {
            let own = self.service.get_or_insert_with(new_histogram);
            add(own, &latencies(s)?)?;
        }
        if let Some(s) = &d.start_delay {
            let own = self.start_delay.get_or_insert_with(new_histogram);
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
        // Indexed once per shard: merging stays linear in the messages.
        let mut index: HashMap<(ErrorKind, String), usize> = self
            .error_counts
            .iter()
            .enumerate()
            .map(|(i, c)| ((c.kind, c.message.clone()), i))
            .collect();
        for e in &d.error_counts {
            match index.entry((e.kind, e.message.clone())) {
                Entry::Occupied(i) => {
                    let c = &mut self.error_counts[*i.get()];
                    c.count = sum(c.count, e.count, "error_counts[].count")?;
                }
                Entry::Vacant(slot) => {
                    slot.insert(self.error_counts.len());
                    self.error_counts.push(e.clone());
                }
            }
        }
        self.first_errors.extend(d.first_errors.iter().cloned());
        for (class, n) in &d.classes {
            let own = self.classes.entry(class.clone()).or_default();
            *own = sum(*own, *n, "classes")?;
        }
        for (tag, t) in &d.tags {
            let own = self.tags.entry(tag.clone()).or_insert_with(|| TagAgg {
                latency: new_histogram(),
                errors: 0,
            });
            add(&mut own.latency, &latencies(&t.latency)?)?;
            own.errors = sum(own.errors, t.errors, "tags[].errors")?;
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
                .or_insert_with(|| CustomAgg::new(kind, None));
            if own.kind != kind {
                return Err(format!(
                    "custom metric {metric:?} is a {} on one shard and a {kind} on another",
                    own.kind
                ));
            }
            sum(own.count, c.count, "custom[].count")?;
            own.add_part(c.count, c.sum, c.m2, c.min, c.max);
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
    pub(crate) fn finish_merge(&mut self) {
        self.error_counts
            .sort_by_key(|c| std::cmp::Reverse(c.count));
        self.first_errors.sort_by_key(|e| e.iteration);
        self.first_errors.truncate(FIRST_ERRORS);
    }
}

/// A latency histogram of a shard: decoded within the codec's bounds, and
/// no value above the recorder's one-hour ceiling (a histogram that holds
/// one was not written by perf-runtime, and would make every second of a
/// merged timeline as large as its range).
pub(crate) fn latencies<T: Counter>(e: &EncodedHistogram) -> Result<Histogram<T>, String> {
    let h: Histogram<T> = e.decode()?;
    if h.max() > MAX_LATENCY_NS {
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
