//! What every worker is doing: one slot each, marked at the start and the
//! end of an iteration (one relaxed store each, no clock read), and the
//! watchdog's view of how long each mark has stood.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::{Duration, Instant};

/// One worker's slot: its current iteration's index plus one, or 0 when it
/// is between iterations. Alone on its cache line: written by one worker,
/// read by the watchdog.
#[repr(align(64))]
#[derive(Default)]
struct Slot(AtomicU64);

/// What every worker is doing, one slot each.
pub(crate) struct Busy {
    slots: Box<[Slot]>,
}

impl Busy {
    pub(crate) fn new(workers: usize) -> Busy {
        Busy {
            slots: (0..workers).map(|_| Slot::default()).collect(),
        }
    }

    /// Worker `w` started iteration `iteration`.
    #[inline]
    pub(crate) fn start(&self, w: usize, iteration: u64) {
        if let Some(s) = self.slots.get(w) {
            s.0.store(iteration.wrapping_add(1).max(1), Relaxed);
        }
    }

    /// Worker `w` finished its iteration.
    #[inline]
    pub(crate) fn end(&self, w: usize) {
        if let Some(s) = self.slots.get(w) {
            s.0.store(0, Relaxed);
        }
    }

    /// Iterations in flight now.
    pub(crate) fn count(&self) -> usize {
        self.slots.iter().filter(|s| s.0.load(Relaxed) != 0).count()
    }
}

/// What the watchdog has seen of each slot: its mark, and since when.
pub(crate) struct Ages {
    seen: Vec<(u64, Instant)>,
}

impl Ages {
    pub(crate) fn new(busy: &Busy, now: Instant) -> Ages {
        Ages {
            seen: vec![(0, now); busy.slots.len()],
        }
    }

    /// Notes the marks now: a mark not seen before started by `now`.
    pub(crate) fn observe(&mut self, busy: &Busy, now: Instant) {
        for (seen, slot) in self.seen.iter_mut().zip(busy.slots.iter()) {
            let mark = slot.0.load(Relaxed);
            if mark != seen.0 {
                *seen = (mark, now);
            }
        }
    }

    /// Iterations in flight at the last look, and the longest-running one
    /// as (worker, age at `now`).
    pub(crate) fn in_flight(&self, now: Instant) -> (usize, Option<(usize, Duration)>) {
        let mut count = 0;
        let mut oldest: Option<(usize, Duration)> = None;
        for (w, &(mark, since)) in self.seen.iter().enumerate() {
            if mark == 0 {
                continue;
            }
            count += 1;
            let age = now.saturating_duration_since(since);
            if oldest.is_none_or(|(_, a)| age > a) {
                oldest = Some((w, age));
            }
        }
        (count, oldest)
    }
}
