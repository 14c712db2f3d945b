//! Recording latencies and errors on the hot path.
//!
//! Each worker buffers raw nanosecond samples in a small local vector and
//! flushes it into one of a few shared histograms ("stripes") when full,
//! when a new second of the run begins, or when the worker ends (also when
//! it is aborted: the flush is in `Drop`). So the per-iteration cost is a
//! push, a lock is taken once per [`BUFFER`] samples (more often at first
//! while memory is tracked: [`FIRST_CHECKPOINT_EVERY`]), and memory does not
//! grow with the number of workers (a histogram per worker would cost
//! ~100–250 KiB each at 3 significant digits, which 1,000 workers cannot
//! afford).
//!
//! The per-second timeline costs nothing per sample: since a batch holds
//! one second's samples, each stripe keeps a snapshot of its whole-run
//! histogram taken when its current second began, and when a later second
//! arrives the difference (now − snapshot) is that second's distribution.
//! A batch that reaches its stripe after the stripe has moved on to a later
//! second (a worker with few iterations held it, another worker flushed a
//! later second first) is added to the timeline at its own second, and to
//! the current second's snapshot so that it is not counted twice: every
//! sample is placed in the second it ended in.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex, PoisonError};

use hdrhistogram::Histogram;

use crate::measure::notes::{Noted, Notes, Value};
use crate::measure::scope::{pause, Checkpoints, Scope};
use crate::model::measured::{
    new_histogram, CustomAgg, ErrorCount, ErrorKind, ErrorSample, Recorded, TagAgg, FIRST_ERRORS,
    MAX_LATENCY_NS,
};
use crate::model::timeline::{Second, Timeline};

mod worker;

pub(crate) use worker::WorkerRecorder;

/// Samples buffered per worker before a flush.
const BUFFER: usize = 256;
/// While memory is tracked, each flush is also a leak checkpoint: a worker
/// flushes every this many samples at first, and every `iterations /
/// CHECKPOINTS_AIMED` (up to [`BUFFER`]) later, so that a short run has
/// enough checkpoints to judge and a long one costs what it did.
const FIRST_CHECKPOINT_EVERY: usize = 8;
/// See [`FIRST_CHECKPOINT_EVERY`].
const CHECKPOINTS_AIMED: u64 = 128;
/// Distinct error messages counted separately; the rest are pooled.
const MAX_DISTINCT_ERRORS: usize = 100;

#[derive(Default)]
struct ErrorLog {
    /// Per group (kind and [`fingerprint`](crate::measure::errors::fingerprint)):
    /// occurrences and the first whole message.
    counts: HashMap<(ErrorKind, String), (u64, String)>,
    first: Vec<ErrorSample>,
    classes: HashMap<&'static str, u64>,
}

/// What noted iterations recorded (opt-in, so kept apart from the
/// batched hot path).
#[derive(Default)]
struct Extras {
    tags: HashMap<&'static str, TagAgg, foldhash::fast::RandomState>,
    custom: HashMap<&'static str, CustomAgg, foldhash::fast::RandomState>,
}

/// One stripe: whole-run histograms and the second being filled.
struct Stripe {
    latency: Histogram<u64>,
    service: Option<Histogram<u64>>,
    /// Open model: how late each iteration began (latency − service).
    start_delay: Option<Histogram<u64>>,
    /// The second being filled, `latency` as it was when it began, and its
    /// counts so far.
    current: Option<CurrentSecond>,
}

struct CurrentSecond {
    second: u32,
    base: Histogram<u64>,
    iterations: u64,
    errors: u64,
}

impl Stripe {
    /// Moves the current second, if any, into the timeline.
    fn roll(&mut self, timeline: &Mutex<Timeline>) {
        let Some(c) = self.current.take() else { return };
        let mut second = Second::new();
        let mut delta = self.latency.clone();
        delta
            .subtract(&c.base)
            .expect("a later histogram holds every count of an earlier one");
        second.add_histogram(&delta);
        second.iterations = c.iterations;
        second.errors = c.errors;
        lock(timeline).add(c.second, &second);
    }
}

/// Everything the workers of one phase record into.
pub(crate) struct Shared {
    stripes: Box<[Mutex<Stripe>]>,
    timeline: Mutex<Timeline>,
    iterations: AtomicU64,
    errors: AtomicU64,
    timeouts: AtomicU64,
    panics: AtomicU64,
    saturated: AtomicU64,
    dropped: AtomicU64,
    /// Set to end the phase early (abort on a broken threshold). Read by
    /// every worker every iteration: on a cache line of its own, away from
    /// the counters that flushes write.
    pub(crate) stop: StopFlag,
    /// What each worker is doing, for the watchdog.
    pub(crate) busy: crate::measure::busy::Busy,
    /// Open model: arrivals the generator could not start on schedule (it
    /// fell behind), as opposed to `dropped` (no free worker).
    unscheduled: AtomicU64,
    /// Closed model: iterations recorded in batches, and the largest batch.
    batched: AtomicU64,
    largest_batch: AtomicU64,
    /// Open model: service time is recorded beside latency.
    open: bool,
    /// With the tracking allocator: the test's scope, and retained bytes
    /// against iterations for leak detection.
    memory: Option<(&'static Scope, Mutex<Checkpoints>)>,
    log: Mutex<ErrorLog>,
    extras: Mutex<Extras>,
}

/// An atomic flag alone on its cache line.
#[repr(align(64))]
pub(crate) struct StopFlag(AtomicBool);

impl StopFlag {
    pub(crate) fn load(&self, order: std::sync::atomic::Ordering) -> bool {
        self.0.load(order)
    }

    pub(crate) fn store(&self, value: bool, order: std::sync::atomic::Ordering) {
        self.0.store(value, order);
    }
}

pub(crate) fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A panic while holding these locks cannot leave them inconsistent
    // (each update is a single record or insert), so poisoning is ignored.
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// `nanos`, capped at the histograms' limit; `n` iterations with it are
/// counted as saturated if it was over.
fn saturate_n(nanos: u64, n: u64, saturated: &mut u64) -> u64 {
    if nanos > MAX_LATENCY_NS {
        *saturated += n;
        MAX_LATENCY_NS
    } else {
        nanos
    }
}

impl Shared {
    /// `open`: also keep service time (latency from the actual start).
    pub(crate) fn new(workers: usize, open: bool, scope: Option<&'static Scope>) -> Arc<Self> {
        let stripes = workers.clamp(1, 16);
        Arc::new(Shared {
            stripes: (0..stripes)
                .map(|_| {
                    Mutex::new(Stripe {
                        latency: new_histogram(),
                        service: open.then(new_histogram),
                        start_delay: open.then(new_histogram),
                        current: None,
                    })
                })
                .collect(),
            timeline: Mutex::new(Timeline::default()),
            iterations: AtomicU64::new(0),
            errors: AtomicU64::new(0),
            timeouts: AtomicU64::new(0),
            panics: AtomicU64::new(0),
            saturated: AtomicU64::new(0),
            dropped: AtomicU64::new(0),
            stop: StopFlag(AtomicBool::new(false)),
            busy: crate::measure::busy::Busy::new(workers),
            unscheduled: AtomicU64::new(0),
            batched: AtomicU64::new(0),
            largest_batch: AtomicU64::new(0),
            open,
            memory: scope.map(|s| (s, Mutex::new(Checkpoints::default()))),
            log: Mutex::new(ErrorLog::default()),
            extras: Mutex::new(Extras::default()),
        })
    }

    /// Counts an iteration that found no free worker at its scheduled start.
    pub(crate) fn record_dropped(&self, sec: u32) {
        self.dropped.fetch_add(1, Relaxed);
        lock(&self.timeline).second_mut(sec).dropped += 1;
    }

    /// Counts `n` arrivals that the generator skipped because it fell
    /// behind its schedule.
    pub(crate) fn record_unscheduled(&self, n: u64) {
        self.unscheduled.fetch_add(n, Relaxed);
    }

    /// Whether samples covered several iterations, with the clock's cost.
    pub(crate) fn batching(&self, clock_ns: f64) -> Option<crate::model::measured::Batching> {
        let batched = self.batched.load(Relaxed);
        (batched > 0).then(|| crate::model::measured::Batching {
            clock_ns,
            iterations_per_sample: self.largest_batch.load(Relaxed),
            batched_iterations: batched,
        })
    }

    /// Arrivals skipped so far because the generator fell behind.
    pub(crate) fn unscheduled(&self) -> u64 {
        self.unscheduled.load(Relaxed)
    }

    /// Iterations recorded so far (flushed ones).
    pub(crate) fn iterations(&self) -> u64 {
        self.iterations.load(Relaxed)
    }

    /// Failed iterations recorded so far (flushed ones).
    pub(crate) fn errors(&self) -> u64 {
        self.errors.load(Relaxed)
    }

    /// Dropped iterations so far.
    pub(crate) fn dropped(&self) -> u64 {
        self.dropped.load(Relaxed)
    }

    /// The whole-run latency histogram so far.
    pub(crate) fn latency_so_far(&self) -> Histogram<u64> {
        let mut h = new_histogram();
        for stripe in self.stripes.iter() {
            h.add(&lock(stripe).latency)
                .expect("auto-resizing histograms always merge");
        }
        h
    }

    /// The timeline's complete seconds so far (the first `complete`).
    pub(crate) fn timeline_so_far(&self, complete: u32) -> Timeline {
        let _paused = pause();
        self.roll_all(complete);
        lock(&self.timeline).clone()
    }

    /// Failed iterations per error class so far.
    pub(crate) fn classes_so_far(&self) -> std::collections::BTreeMap<String, u64> {
        let _paused = pause();
        lock(&self.log)
            .classes
            .iter()
            .map(|(c, n)| ((*c).to_owned(), *n))
            .collect()
    }

    /// Seconds `[start, start + len)`, provided they are complete.
    pub(crate) fn window(&self, start: u32, len: u32) -> crate::model::timeline::Window {
        self.roll_all(start + len);
        lock(&self.timeline).window(start, len)
    }

    /// Moves every stripe's current second older than `before` into the
    /// timeline.
    fn roll_all(&self, before: u32) {
        for stripe in self.stripes.iter() {
            let mut st = lock(stripe);
            if st.current.as_ref().is_some_and(|c| c.second < before) {
                st.roll(&self.timeline);
            }
        }
    }

    /// Retained bytes against iterations, for leak detection.
    pub(crate) fn checkpoints(&self) -> Vec<(u64, i64)> {
        self.memory
            .as_ref()
            .map(|(_, c)| lock(c).points().to_vec())
            .unwrap_or_default()
    }

    /// Merges everything recorded. Call after every worker is done.
    pub(crate) fn collect(&self) -> Recorded {
        let _paused = pause();
        self.roll_all(u32::MAX);
        let mut histogram = new_histogram();
        let mut service: Option<Histogram<u64>> = None;
        let mut start_delay: Option<Histogram<u64>> = None;
        for stripe in self.stripes.iter() {
            let st = lock(stripe);
            histogram
                .add(&st.latency)
                .expect("auto-resizing histograms always merge");
            if let Some(s) = &st.start_delay {
                start_delay
                    .get_or_insert_with(new_histogram)
                    .add(s)
                    .expect("auto-resizing histograms always merge");
            }
            if let Some(s) = &st.service {
                service
                    .get_or_insert_with(new_histogram)
                    .add(s)
                    .expect("auto-resizing histograms always merge");
            }
        }
        let log = lock(&self.log);
        let mut error_counts: Vec<ErrorCount> = log
            .counts
            .iter()
            .map(|((kind, message), (count, example))| ErrorCount {
                kind: *kind,
                message: message.clone(),
                count: *count,
                cause: crate::measure::errors::root_cause(example),
                example: example.clone(),
            })
            .collect();
        error_counts.sort_by(|a, b| {
            b.count
                .cmp(&a.count)
                .then_with(|| a.message.cmp(&b.message))
        });
        let mut first_errors = log.first.clone();
        first_errors.sort_by_key(|e| e.iteration);
        let classes = log
            .classes
            .iter()
            .map(|(c, n)| ((*c).to_owned(), *n))
            .collect();
        let mut extras = lock(&self.extras);
        let tags = extras
            .tags
            .drain()
            .map(|(t, a)| (t.to_owned(), a))
            .collect();
        let custom = extras
            .custom
            .drain()
            .map(|(n, a)| (n.to_owned(), a))
            .collect();
        Recorded {
            histogram,
            service,
            start_delay,
            timeline: std::mem::take(&mut *lock(&self.timeline)),
            iterations: self.iterations.load(Relaxed),
            errors: self.errors.load(Relaxed),
            timeouts: self.timeouts.load(Relaxed),
            panics: self.panics.load(Relaxed),
            saturated: self.saturated.load(Relaxed),
            dropped: self.dropped.load(Relaxed),
            error_counts,
            first_errors,
            classes,
            tags,
            custom,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flushes_on_drop_and_merges_stripes() {
        let shared = Shared::new(3, true, None);
        for w in 0..3 {
            let mut r = WorkerRecorder::new(shared.clone(), w);
            for i in 0..1000u64 {
                r.record(2000 + i, 1000 + i, (i / 100) as u32, false);
            }
        }
        let rec = shared.collect();
        assert_eq!(rec.iterations, 3000);
        assert_eq!(rec.histogram.len(), 3000);
        assert_eq!(rec.histogram.min(), 2000);
        assert_eq!(rec.service.unwrap().min(), 1000);
        // Each began 1000 ns after it was due.
        let delay = rec.start_delay.unwrap();
        assert_eq!((delay.min(), delay.max(), delay.len()), (1000, 1000, 3000));
        // Ten seconds of 100 iterations from each of 3 workers.
        assert_eq!(rec.timeline.len(), 10);
        assert!(rec.timeline.points().iter().all(|p| p.iterations == 300));
    }

    #[test]
    fn a_batch_flushed_after_its_stripe_moved_on_keeps_its_second() {
        // One stripe; worker 0 flushes second 5 first, then worker 1 (same
        // stripe) flushes what it held from second 3, then second 5 ends.
        let shared = Shared::new(1, false, None);
        let mut early = WorkerRecorder::new(shared.clone(), 0);
        let mut late = WorkerRecorder::new(shared.clone(), 0);
        for _ in 0..4 {
            late.record(3_000, 3_000, 3, false);
        }
        for _ in 0..7 {
            early.record(5_000, 5_000, 5, true);
        }
        drop(early);
        drop(late);
        let rec = shared.collect();
        let points = rec.timeline.points();
        assert_eq!(
            (
                points[3].iterations,
                points[3].errors,
                points[3].max_ns / 1000
            ),
            (4, 0, 3)
        );
        assert_eq!(
            (
                points[5].iterations,
                points[5].errors,
                points[5].max_ns / 1000
            ),
            (7, 7, 5)
        );
        assert_eq!(rec.histogram.len(), 11);
    }

    #[test]
    fn a_batch_counts_each_of_its_iterations_with_the_batch_mean() {
        let shared = Shared::new(1, false, None);
        let notes = crate::measure::notes::Notes::new();
        let mut r = WorkerRecorder::new(shared.clone(), 0);
        // Two single samples, then two batches of 100 in second 0, and a
        // batch of 50 with two failures in second 1.
        r.record(900, 900, 0, false);
        r.record(1_100, 1_100, 0, false);
        let mut failures = Vec::new();
        assert!(!r.finish_batch(100, 50_000, 0, &mut failures, &notes));
        assert!(!r.finish_batch(100, 70_000, 0, &mut failures, &notes));
        failures.push((230, (ErrorKind::Error, "no".to_owned())));
        failures.push((240, (ErrorKind::Panic, "boom".to_owned())));
        assert!(!r.finish_batch(50, 100_000, 1, &mut failures, &notes));
        assert!(failures.is_empty(), "the failures are taken");
        drop(r);
        let rec = shared.collect();
        assert_eq!((rec.iterations, rec.histogram.len()), (252, 252));
        assert_eq!((rec.errors, rec.panics), (2, 1));
        assert_eq!(rec.first_errors[0].iteration, 230);
        // 100 at 500 ns, 100 at 700 ns, 50 at 2 µs, and the two singles.
        assert_eq!(rec.histogram.count_between(500, 500), 100);
        assert_eq!(rec.histogram.count_between(700, 700), 100);
        assert_eq!(rec.histogram.count_between(1_999, 2_001), 50);
        let points = rec.timeline.points();
        assert_eq!((points[0].iterations, points[0].errors), (202, 0));
        assert_eq!((points[1].iterations, points[1].errors), (50, 2));
        let b = shared.batching(20.0).expect("batches were recorded");
        assert_eq!((b.batched_iterations, b.iterations_per_sample), (250, 100));
        assert_eq!(b.clock_ns, 20.0);
    }

    #[test]
    fn a_phase_without_batches_reports_none() {
        let shared = Shared::new(1, false, None);
        let mut r = WorkerRecorder::new(shared.clone(), 0);
        r.record(900, 900, 0, false);
        drop(r);
        assert_eq!(shared.batching(20.0), None);
    }

    #[test]
    fn saturates_and_counts_huge_latencies() {
        let shared = Shared::new(1, false, None);
        let mut r = WorkerRecorder::new(shared.clone(), 0);
        r.record(u64::MAX, u64::MAX, 0, false);
        r.record(5, 5, 0, false);
        drop(r);
        let rec = shared.collect();
        assert_eq!(rec.saturated, 1);
        assert_eq!(rec.histogram.len(), 2);
        assert!(rec.histogram.max() >= MAX_LATENCY_NS);
    }

    #[test]
    fn errors_that_differ_in_ids_are_one_group_with_an_example_and_a_cause() {
        let shared = Shared::new(1, false, None);
        let mut r = WorkerRecorder::new(shared.clone(), 0);
        for i in 0..50u64 {
            let message = format!(
                r#"Error {{ url: "http://127.0.0.1:9/items/{}", source: Os {{ code: 111, kind: ConnectionRefused, message: "Connection refused" }} }}"#,
                10_000 + i
            );
            r.record_error(i, ErrorKind::Error, message, None);
        }
        drop(r);
        let rec = shared.collect();
        assert_eq!(rec.error_counts.len(), 1, "{:?}", rec.error_counts);
        let group = &rec.error_counts[0];
        assert_eq!(group.count, 50);
        assert!(group.message.contains("<url>"), "{}", group.message);
        assert!(group.example.contains("/items/10000"), "{}", group.example);
        assert_eq!(group.cause.as_deref(), Some("Connection refused"));
    }

    #[test]
    fn classifies_errors_by_message() {
        let shared = Shared::new(1, false, None);
        let mut r = WorkerRecorder::new(shared.clone(), 0);
        for i in 0..30 {
            r.record_error(i, ErrorKind::Error, format!("code {}", i % 3), None);
        }
        r.record_error(30, ErrorKind::Panic, "boom".into(), None);
        for i in 0..200 {
            r.record_error(100 + i, ErrorKind::Error, format!("unique {i}"), None);
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
