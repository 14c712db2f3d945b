//! One worker's side of the recorder: its sample buffer, flushed into a
//! stripe when full, when a new second begins, or when it ends.

use super::*;

/// A worker's handle for recording; flushes on drop.
pub(crate) struct WorkerRecorder {
    shared: Arc<Shared>,
    worker: usize,
    /// Latencies of this second's finished iterations, not yet flushed.
    buffer: Vec<u64>,
    /// Batches of this second (closed model, tiny bodies): each batch's
    /// mean latency and its number of iterations.
    batches: Vec<(u64, u64)>,
    /// Iterations in `batches`.
    in_batches: u64,
    /// Their service times (open model only).
    service: Option<Vec<u64>>,
    /// The second of the run the buffered iterations ended in.
    second: u32,
    errors: u64,
    /// What one iteration of this worker's batches usually takes (0:
    /// not known yet), to tell a batch that held a stall.
    typical_ns: u64,
    /// Samples (or batches) buffered before a flush: [`BUFFER`], or fewer
    /// early in a run whose memory is tracked (each flush is a leak
    /// checkpoint).
    flush_at: usize,
}

/// A batch slower than this many times its usual time is taken to hold
/// one slow iteration (a stall: a lock, a page fault, a slow dependency).
pub(crate) const STALL_FACTOR: u64 = 10;

/// How a batch of `count` iterations that took `total` nanoseconds is
/// recorded, given what one iteration usually takes (`typical`, 0 when
/// not known): as `count` iterations of its mean, or, when it took over
/// [`STALL_FACTOR`] times its usual time, as `count − 1` usual iterations
/// and one that holds the rest, so that a stall inside a batch still
/// shows at its length in the maximum and the tail (the sum, and so the
/// mean, is the same either way).
pub(crate) fn attribute(total: u64, count: u64, typical: u64) -> [(u64, u64); 2] {
    let count = count.max(1);
    let usual = typical.saturating_mul(count - 1);
    if count > 1 && typical > 0 && total / STALL_FACTOR > typical.saturating_mul(count) {
        [(typical, count - 1), (total - usual, 1)]
    } else {
        [(total / count, count), (0, 0)]
    }
}

impl WorkerRecorder {
    /// The phase's shared state.
    #[inline]
    pub(crate) fn shared(&self) -> &Shared {
        &self.shared
    }

    pub(crate) fn new(shared: Arc<Shared>, worker: usize) -> Self {
        let open = shared.open;
        let flush_at = if shared.memory.is_some() {
            FIRST_CHECKPOINT_EVERY
        } else {
            BUFFER
        };
        WorkerRecorder {
            flush_at,
            shared,
            worker,
            buffer: Vec::with_capacity(BUFFER),
            batches: Vec::with_capacity(BUFFER),
            typical_ns: 0,
            in_batches: 0,
            service: open.then(|| Vec::with_capacity(BUFFER)),
            second: 0,
            errors: 0,
        }
    }

    /// Records one finished iteration: its latency (from the scheduled start
    /// in the open model), its service time (from the actual start), and the
    /// second of the run in which it ended. A new second flushes the buffer
    /// first; so does an open-model worker going idle.
    #[inline]
    pub(crate) fn record(&mut self, latency: u64, service: u64, second: u32, error: bool) {
        // The fast path is a push; inlined into the worker loop.
        if second != self.second || self.buffer.len() >= self.flush_at {
            self.flush_for(second);
        }
        self.buffer.push(latency);
        if let Some(s) = &mut self.service {
            s.push(service);
        }
        self.errors += u64::from(error);
    }

    /// Records a finished iteration: its sample, what it noted through its
    /// `Ctx` (tag, custom metrics, error class), and its error if it failed.
    /// The one place both models' workers hand an iteration over; inlined
    /// into them, as the code it replaces was (the per-iteration hot path).
    /// Returns whether it was plain: noted nothing (it may have failed; a
    /// batch records failures one by one too).
    #[inline(always)]
    pub(crate) fn finish_iteration(
        &mut self,
        iteration: u64,
        latency: u64,
        service: u64,
        second: u32,
        outcome: Result<(), (ErrorKind, String)>,
        notes: &Notes,
    ) -> bool {
        let failed = outcome.is_err();
        // An iteration that noted something (a tag, a metric, time outside
        // the timer) is recorded with its notes; the others go straight in.
        let noted = notes.finish(|noted| {
            let untimed = noted.untimed_ns;
            let (latency, service) = (
                latency.saturating_sub(untimed),
                service.saturating_sub(untimed),
            );
            self.record(latency, service, second, failed);
            self.record_notes(noted, latency, failed)
        });
        let class = match noted {
            Some(class) => class,
            None => {
                self.record(latency, service, second, failed);
                None
            }
        };
        let plain = noted.is_none();
        if let Err((kind, message)) = outcome {
            self.record_error(iteration, kind, message, class);
        }
        plain
    }

    /// Records a batch of `count` iterations (`first..first + count`)
    /// timed by one clock pair, `total` nanoseconds: each iteration gets
    /// the batch's mean. `failures` holds the batch's failed iterations;
    /// it is emptied. Returns whether the batch noted anything through
    /// its `Ctx` (the worker then stops batching).
    pub(crate) fn finish_batch(
        &mut self,
        count: u64,
        total: u64,
        second: u32,
        failures: &mut Vec<(u64, (ErrorKind, String))>,
        notes: &Notes,
    ) -> bool {
        let failed = failures.len() as u64;
        let mean = |total: u64| total / count.max(1);
        let mut class = None;
        let noted = notes
            .finish(|noted| {
                let latency = mean(total.saturating_sub(noted.untimed_ns));
                self.record_batch(latency, count, second, failed);
                class = self.record_notes(noted, latency, failed > 0);
            })
            .is_some();
        if !noted {
            let [usual, slow] = attribute(total, count, self.typical_ns);
            self.record_batch(usual.0, usual.1, second, failed);
            if slow.1 > 0 {
                self.record_batch(slow.0, slow.1, second, 0);
            } else {
                // A moving estimate of the usual time, stalls left out.
                self.typical_ns = match self.typical_ns {
                    0 => usual.0,
                    t => (7 * t + usual.0) / 8,
                };
            }
        }
        for (iteration, (kind, message)) in failures.drain(..) {
            self.record_error(iteration, kind, message, class);
        }
        {
            let s = &self.shared;
            s.batched.fetch_add(count, Relaxed);
            s.largest_batch.fetch_max(count, Relaxed);
        }
        noted
    }

    /// What one iteration takes, from the single samples before batching.
    pub(crate) fn expect_per_iteration(&mut self, ns: u64) {
        self.typical_ns = ns;
    }

    fn record_batch(&mut self, latency: u64, count: u64, second: u32, errors: u64) {
        if second != self.second || self.batches.len() >= self.flush_at {
            self.flush_for(second);
        }
        self.batches.push((latency, count));
        self.in_batches += count;
        self.errors += errors;
    }

    #[cold]
    #[inline(never)]
    fn flush_for(&mut self, second: u32) {
        self.flush();
        self.second = second;
    }

    /// Records a failed iteration's error (after [`record`](Self::record)).
    pub(crate) fn record_error(
        &mut self,
        iteration: u64,
        kind: ErrorKind,
        message: String,
        class: Option<&'static str>,
    ) {
        let _paused = pause();
        let s = &self.shared;
        s.errors.fetch_add(1, Relaxed);
        match kind {
            ErrorKind::Timeout => s.timeouts.fetch_add(1, Relaxed),
            ErrorKind::Panic => s.panics.fetch_add(1, Relaxed),
            ErrorKind::Error => 0,
        };
        // Secrets in URLs go no further than here: not into the summary,
        // the report, or a group's name.
        let message = match crate::measure::errors::redact(&message) {
            std::borrow::Cow::Owned(redacted) => redacted,
            std::borrow::Cow::Borrowed(_) => message,
        };
        let group = crate::measure::errors::fingerprint(&message);
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
            || log.counts.contains_key(&(kind, group.clone()))
        {
            (kind, group)
        } else {
            (kind, "(other messages)".to_owned())
        };
        log.counts.entry(key).or_insert_with(|| (0, message)).0 += 1;
        let class = match kind {
            ErrorKind::Error => class.unwrap_or("error"),
            ErrorKind::Panic => "panic",
            ErrorKind::Timeout => "timeout",
        };
        *log.classes.entry(class).or_insert(0) += 1;
    }

    /// Records what a noted iteration said about itself: its tag and its
    /// custom metrics. Returns its error class.
    pub(crate) fn record_notes(
        &mut self,
        noted: &Noted,
        latency: u64,
        error: bool,
    ) -> Option<&'static str> {
        let _paused = pause();
        let mut extras = lock(&self.shared.extras);
        if let Some(tag) = noted.tag {
            let agg = extras.tags.entry(tag).or_insert_with(|| TagAgg {
                latency: new_histogram(),
                errors: 0,
            });
            agg.latency
                .record(latency.min(MAX_LATENCY_NS))
                .expect("auto-resizing histograms accept values up to their limit");
            agg.errors += u64::from(error);
        }
        for &(name, value) in noted.values.iter() {
            let (kind, v) = match value {
                Value::Number(v) => ("value", v),
                Value::Duration(d) => ("duration", d.as_nanos() as f64),
                Value::Count(n) => ("count", n as f64),
            };
            let agg = extras
                .custom
                .entry(name)
                .or_insert_with(|| CustomAgg::new(kind, (kind == "duration").then(new_histogram)));
            agg.add_value(v);
            if let Some(h) = &mut agg.histogram {
                h.record((v as u64).min(MAX_LATENCY_NS))
                    .expect("auto-resizing histograms accept values up to their limit");
            }
        }
        noted.class
    }

    /// Hands the buffered samples to the shared histograms now.
    pub(crate) fn flush(&mut self) {
        if self.buffer.is_empty() && self.batches.is_empty() {
            return;
        }
        let samples = self
            .buffer
            .iter()
            .map(|&l| (l, 1))
            .chain(self.batches.iter().copied());
        let count = self.buffer.len() as u64 + self.in_batches;
        // The framework's bookkeeping is not the iteration's allocation.
        let _paused = pause();
        let s = &self.shared;
        let mut saturated = 0;
        {
            let mut guard = lock(&s.stripes[self.worker % s.stripes.len()]);
            let st = &mut *guard;
            // A later second starts: close the stripe's current one first.
            if st.current.as_ref().is_some_and(|c| c.second < self.second) {
                st.roll(&s.timeline);
            }
            let late = st.current.as_ref().is_some_and(|c| c.second > self.second);
            if late {
                // A worker held these samples while the stripe moved on (few
                // iterations per worker): they go to their own second, and
                // into the current second's base too, so that its delta
                // does not count them again.
                let mut second = Second::new();
                let current = st.current.as_mut().expect("late implies a current second");
                for (latency, n) in samples {
                    let latency = saturate_n(latency, n, &mut saturated);
                    second.record_n(latency, n);
                    current
                        .base
                        .record_n(latency, n)
                        .expect("auto-resizing histograms accept values up to their limit");
                    st.latency
                        .record_n(latency, n)
                        .expect("auto-resizing histograms accept values up to their limit");
                }
                second.errors = self.errors;
                lock(&s.timeline).add(self.second, &second);
            } else {
                let base = &st.latency;
                let current = st.current.get_or_insert_with(|| CurrentSecond {
                    second: self.second,
                    base: base.clone(),
                    iterations: 0,
                    errors: 0,
                });
                current.iterations += count;
                current.errors += self.errors;
                for (latency, n) in samples {
                    let latency = saturate_n(latency, n, &mut saturated);
                    st.latency
                        .record_n(latency, n)
                        .expect("auto-resizing histograms accept values up to their limit");
                }
            }
            if let (Some(hist), Some(delays), Some(buffer)) =
                (&mut st.service, &mut st.start_delay, &self.service)
            {
                // The open model has no batches: `buffer` and `self.buffer`
                // hold the same iterations, in order.
                for (&service, &latency) in buffer.iter().zip(&self.buffer) {
                    hist.record(service.min(MAX_LATENCY_NS))
                        .expect("auto-resizing histograms accept values up to their limit");
                    delays
                        .record(latency.saturating_sub(service).min(MAX_LATENCY_NS))
                        .expect("auto-resizing histograms accept values up to their limit");
                }
            }
        }
        let iterations = s.iterations.fetch_add(count, Relaxed) + count;
        if let Some((scope, checkpoints)) = &s.memory {
            let live = scope.totals().live();
            scope.observe_live(live);
            lock(checkpoints).add(iterations, live);
            self.flush_at = usize::try_from(iterations / CHECKPOINTS_AIMED)
                .unwrap_or(BUFFER)
                .clamp(FIRST_CHECKPOINT_EVERY, BUFFER);
        }
        self.buffer.clear();
        self.batches.clear();
        self.in_batches = 0;
        if let Some(b) = &mut self.service {
            b.clear();
        }
        self.errors = 0;
        if saturated > 0 {
            s.saturated.fetch_add(saturated, Relaxed);
        }
    }
}

impl Drop for WorkerRecorder {
    fn drop(&mut self) {
        self.flush();
    }
}

#[cfg(test)]
mod tests {
    use super::attribute;

    #[test]
    fn a_stall_inside_a_batch_keeps_its_length_and_the_sum_is_kept() {
        // 100 iterations of ~50 ns, one of which slept 200 ms.
        let total = 99 * 50 + 200_000_000;
        let [usual, slow] = attribute(total, 100, 50);
        assert_eq!(usual, (50, 99));
        assert_eq!(slow, (200_000_000, 1));
        assert_eq!(usual.0 * usual.1 + slow.0 * slow.1, total);
        // Jitter of a few times the usual time is not a stall: the mean.
        assert_eq!(attribute(100 * 150, 100, 50), [(150, 100), (0, 0)]);
        // Nothing known yet, or a batch of one: the mean.
        assert_eq!(attribute(total, 100, 0), [(total / 100, 100), (0, 0)]);
        assert_eq!(attribute(7_000, 1, 50), [(7_000, 1), (0, 0)]);
        // Degenerate inputs do not overflow or divide by zero.
        assert_eq!(
            attribute(u64::MAX, 2, u64::MAX),
            [(u64::MAX / 2, 2), (0, 0)]
        );
        assert_eq!(attribute(10, 0, 5), [(10, 1), (0, 0)]);
    }
}
