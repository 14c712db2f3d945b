//! Recording latencies and errors on the hot path.
//!
//! Each worker buffers raw nanosecond samples in a small local vector and
//! flushes it into one of a few shared histograms ("stripes") when full, or
//! when the worker ends (also when it is aborted: the flush is in `Drop`).
//! So the per-iteration cost is a push, a lock is taken once per
//! [`BUFFER`] samples, and memory does not grow with the number of workers
//! (a histogram per worker would cost ~100–250 KiB each at 3 significant
//! digits, which 1,000 workers cannot afford).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex, PoisonError};

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

/// Samples buffered per worker before a flush.
const BUFFER: usize = 256;
/// Largest latency recorded as itself (one hour); longer ones are recorded
/// as this value and counted as saturated.
pub(crate) const MAX_LATENCY_NS: u64 = 3_600_000_000_000;
/// Significant digits kept by every latency histogram.
pub(crate) const SIGFIG: u8 = 3;
/// Distinct error messages counted separately; the rest are pooled.
const MAX_DISTINCT_ERRORS: usize = 100;
/// First errors kept with their iteration index.
const FIRST_ERRORS: usize = 10;

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
    /// The message (`"(other messages)"` past the first 100 distinct ones).
    pub message: String,
    /// Occurrences.
    pub count: u64,
}

#[derive(Default)]
struct ErrorLog {
    counts: HashMap<(ErrorKind, String), u64>,
    first: Vec<ErrorSample>,
}

/// Everything the workers of one phase record into.
pub(crate) struct Shared {
    stripes: Box<[Mutex<Histogram<u64>>]>,
    iterations: AtomicU64,
    errors: AtomicU64,
    timeouts: AtomicU64,
    panics: AtomicU64,
    saturated: AtomicU64,
    log: Mutex<ErrorLog>,
}

/// The merged result of a phase.
pub(crate) struct Recorded {
    pub(crate) histogram: Histogram<u64>,
    pub(crate) iterations: u64,
    pub(crate) errors: u64,
    pub(crate) timeouts: u64,
    pub(crate) panics: u64,
    pub(crate) saturated: u64,
    pub(crate) error_counts: Vec<ErrorCount>,
    pub(crate) first_errors: Vec<ErrorSample>,
}

pub(crate) fn new_histogram() -> Histogram<u64> {
    // Auto-resizing: memory follows the largest value actually recorded.
    Histogram::new(SIGFIG).expect("3 significant digits is a valid histogram precision")
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A panic while holding these locks cannot leave them inconsistent
    // (each update is a single record or insert), so poisoning is ignored.
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Shared {
    pub(crate) fn new(workers: usize) -> Arc<Self> {
        let stripes = workers.clamp(1, 16);
        Arc::new(Shared {
            stripes: (0..stripes).map(|_| Mutex::new(new_histogram())).collect(),
            iterations: AtomicU64::new(0),
            errors: AtomicU64::new(0),
            timeouts: AtomicU64::new(0),
            panics: AtomicU64::new(0),
            saturated: AtomicU64::new(0),
            log: Mutex::new(ErrorLog::default()),
        })
    }

    /// Merges everything recorded so far. Call after every worker is done.
    pub(crate) fn collect(&self) -> Recorded {
        let mut histogram = new_histogram();
        for stripe in self.stripes.iter() {
            histogram
                .add(&*lock(stripe))
                .expect("auto-resizing histograms always merge");
        }
        let log = lock(&self.log);
        let mut error_counts: Vec<ErrorCount> = log
            .counts
            .iter()
            .map(|((kind, message), count)| ErrorCount {
                kind: *kind,
                message: message.clone(),
                count: *count,
            })
            .collect();
        error_counts.sort_by(|a, b| {
            b.count
                .cmp(&a.count)
                .then_with(|| a.message.cmp(&b.message))
        });
        let mut first_errors = log.first.clone();
        first_errors.sort_by_key(|e| e.iteration);
        Recorded {
            histogram,
            iterations: self.iterations.load(Relaxed),
            errors: self.errors.load(Relaxed),
            timeouts: self.timeouts.load(Relaxed),
            panics: self.panics.load(Relaxed),
            saturated: self.saturated.load(Relaxed),
            error_counts,
            first_errors,
        }
    }
}

/// A worker's handle for recording; flushes on drop.
pub(crate) struct WorkerRecorder {
    shared: Arc<Shared>,
    worker: usize,
    buffer: Vec<u64>,
    iterations: u64,
}

impl WorkerRecorder {
    pub(crate) fn new(shared: Arc<Shared>, worker: usize) -> Self {
        WorkerRecorder {
            shared,
            worker,
            buffer: Vec::with_capacity(BUFFER),
            iterations: 0,
        }
    }

    /// Records one completed iteration's latency.
    pub(crate) fn record(&mut self, nanos: u64) {
        self.iterations += 1;
        self.buffer.push(nanos);
        if self.buffer.len() == BUFFER {
            self.flush();
        }
    }

    /// Records a failed iteration: its latency and its error.
    pub(crate) fn record_error(
        &mut self,
        nanos: u64,
        iteration: u64,
        kind: ErrorKind,
        message: String,
    ) {
        self.record(nanos);
        let s = &self.shared;
        s.errors.fetch_add(1, Relaxed);
        match kind {
            ErrorKind::Timeout => s.timeouts.fetch_add(1, Relaxed),
            ErrorKind::Panic => s.panics.fetch_add(1, Relaxed),
            ErrorKind::Error => 0,
        };
        let mut log = lock(&s.log);
        if log.first.len() < FIRST_ERRORS {
            log.first.push(ErrorSample {
                iteration,
                worker: self.worker,
                kind,
                message: message.clone(),
            });
        }
        let key = if log.counts.len() < MAX_DISTINCT_ERRORS
            || log.counts.contains_key(&(kind, message.clone()))
        {
            (kind, message)
        } else {
            (kind, "(other messages)".to_owned())
        };
        *log.counts.entry(key).or_insert(0) += 1;
    }

    fn flush(&mut self) {
        let s = &self.shared;
        let mut saturated = 0;
        {
            let mut h = lock(&s.stripes[self.worker % s.stripes.len()]);
            for &v in &self.buffer {
                let v = if v > MAX_LATENCY_NS {
                    saturated += 1;
                    MAX_LATENCY_NS
                } else {
                    v
                };
                h.record(v)
                    .expect("auto-resizing histograms accept every u64 below their limit");
            }
        }
        self.buffer.clear();
        if saturated > 0 {
            s.saturated.fetch_add(saturated, Relaxed);
        }
        s.iterations
            .fetch_add(std::mem::take(&mut self.iterations), Relaxed);
    }
}

impl Drop for WorkerRecorder {
    fn drop(&mut self) {
        self.flush();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flushes_on_drop_and_merges_stripes() {
        let shared = Shared::new(3);
        for w in 0..3 {
            let mut r = WorkerRecorder::new(shared.clone(), w);
            for i in 0..1000u64 {
                r.record(1000 + i);
            }
        }
        let rec = shared.collect();
        assert_eq!(rec.iterations, 3000);
        assert_eq!(rec.histogram.len(), 3000);
        assert_eq!(rec.histogram.min(), 1000);
    }

    #[test]
    fn saturates_and_counts_huge_latencies() {
        let shared = Shared::new(1);
        let mut r = WorkerRecorder::new(shared.clone(), 0);
        r.record(u64::MAX);
        r.record(5);
        drop(r);
        let rec = shared.collect();
        assert_eq!(rec.saturated, 1);
        assert_eq!(rec.histogram.len(), 2);
        assert!(rec.histogram.max() >= MAX_LATENCY_NS);
    }

    #[test]
    fn classifies_errors_by_message() {
        let shared = Shared::new(1);
        let mut r = WorkerRecorder::new(shared.clone(), 0);
        for i in 0..30 {
            r.record_error(10, i, ErrorKind::Error, format!("code {}", i % 3));
        }
        r.record_error(10, 30, ErrorKind::Panic, "boom".into());
        for i in 0..200 {
            r.record_error(10, 100 + i, ErrorKind::Error, format!("unique {i}"));
        }
        drop(r);
        let rec = shared.collect();
        assert_eq!(rec.errors, 231);
        assert_eq!(rec.panics, 1);
        assert_eq!(rec.first_errors.len(), FIRST_ERRORS);
        assert_eq!(rec.first_errors[0].iteration, 0);
        assert_eq!(rec.error_counts.iter().map(|c| c.count).sum::<u64>(), 231);
        assert_eq!(rec.error_counts.len(), MAX_DISTINCT_ERRORS + 1);
        let code0 = rec
            .error_counts
            .iter()
            .find(|c| c.message == "code 0")
            .unwrap();
        assert_eq!(code0.count, 10);
    }
}
