//! Per-test allocation scopes: per-thread counters written only by their
//! thread, the live byte count the peak is taken from, pausing attribution
//! around the framework's own bookkeeping, the leak checkpoints, and the
//! countdown to the next heap-profile sample.

use std::cell::Cell;
use std::ptr;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering::Relaxed};
use std::sync::{Mutex, OnceLock};

use crate::measure::heap_profile::{self, HeapTable};

/// Bytes a thread's net allocation may move before it updates the shared
/// live count (and so the peak).
pub const PEAK_BATCH: i64 = 16 * 1024;

/// One thread's counters for one scope, written only by that thread.
#[derive(Default)]
struct Slot {
    allocs: AtomicU64,
    frees: AtomicU64,
    bytes_allocated: AtomicU64,
    bytes_freed: AtomicU64,
}

/// Owner-only increment: a load and a store, no locked instruction.
#[inline]
fn bump(counter: &AtomicU64, by: u64) {
    counter.store(counter.load(Relaxed).wrapping_add(by), Relaxed);
}

/// Where a perf test's allocations are counted. Scopes are leaked (a few
/// dozen bytes per test) so that allocation headers can name them forever.
pub struct Scope {
    slots: Mutex<Vec<&'static Slot>>,
    /// Frees, on threads outside this scope, of memory it allocated.
    foreign_frees: AtomicU64,
    foreign_bytes_freed: AtomicU64,
    /// Live bytes as reported in batches, for the peak.
    shared_live: AtomicI64,
    peak: AtomicI64,
    /// Bumped by [`reset_peak`](Self::reset_peak): threads start their own
    /// high-water mark again.
    epoch: AtomicU64,
    /// `heap_profile`: the sampled allocations' stacks.
    heap: OnceLock<HeapTable>,
}

/// Counters of a scope at one moment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Totals {
    /// Allocations (including reallocations).
    pub allocations: u64,
    /// Deallocations.
    pub deallocations: u64,
    /// Bytes requested by allocations.
    pub bytes_allocated: u64,
    /// Bytes given back.
    pub bytes_freed: u64,
}

impl Totals {
    /// Bytes allocated and not yet freed.
    pub fn live(&self) -> i64 {
        self.bytes_allocated as i64 - self.bytes_freed as i64
    }
}

impl Scope {
    /// A new scope, alive for the rest of the process.
    pub fn new() -> &'static Scope {
        let _paused = pause();
        Box::leak(Box::new(Scope {
            slots: Mutex::new(Vec::new()),
            foreign_frees: AtomicU64::new(0),
            foreign_bytes_freed: AtomicU64::new(0),
            shared_live: AtomicI64::new(0),
            peak: AtomicI64::new(0),
            epoch: AtomicU64::new(0),
            heap: OnceLock::new(),
        }))
    }

    /// Samples this scope's allocations with their stacks, one per `rate`
    /// bytes on average, for a heap profile (threads entering the scope
    /// from now on; `heap_profile` does this for a perf test). Once per
    /// scope; false if heap profiles are not built in (the `heap-profile`
    /// feature, on Unix) or the scope already had a rate.
    pub fn profile_heap(&self, rate: u64) -> bool {
        if !cfg!(all(unix, feature = "heap-profile")) {
            return false;
        }
        let _paused = pause();
        self.heap.set(HeapTable::new(rate)).is_ok()
    }

    /// The heap profile's table, if [`profile_heap`](Self::profile_heap).
    pub(crate) fn heap(&self) -> Option<&HeapTable> {
        self.heap.get()
    }

    /// Allocations sampled for the heap profile so far.
    pub fn heap_samples(&self) -> u64 {
        self.heap.get().map_or(0, HeapTable::samples)
    }

    /// Exact counters now (what every thread has counted so far).
    pub fn totals(&self) -> Totals {
        let _paused = pause();
        let slots = self
            .slots
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut t = Totals {
            deallocations: self.foreign_frees.load(Relaxed),
            bytes_freed: self.foreign_bytes_freed.load(Relaxed),
            ..Totals::default()
        };
        for s in slots.iter() {
            t.allocations += s.allocs.load(Relaxed);
            t.deallocations += s.frees.load(Relaxed);
            t.bytes_allocated += s.bytes_allocated.load(Relaxed);
            t.bytes_freed += s.bytes_freed.load(Relaxed);
        }
        t
    }

    /// The most live bytes seen since [`reset_peak`](Self::reset_peak)
    /// (within [`PEAK_BATCH`] per thread), and never less than `live`.
    pub fn peak(&self, live: i64) -> i64 {
        self.peak.load(Relaxed).max(live)
    }

    /// Raises the peak to `live`, an exact figure from [`totals`](Self::totals).
    pub fn observe_live(&self, live: i64) {
        self.peak.fetch_max(live, Relaxed);
    }

    /// Starts a new peak from the bytes live now.
    pub fn reset_peak(&self) {
        self.epoch.fetch_add(1, Relaxed);
        self.peak.store(self.shared_live.load(Relaxed), Relaxed);
    }

    /// Makes the current thread count its allocations in this scope until
    /// the guard is dropped.
    pub fn enter(&'static self) -> ScopeGuard {
        let slot: &'static Slot = {
            let _paused = pause();
            let slot = Box::leak(Box::<Slot>::default());
            self.slots
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .push(slot);
            slot
        };
        let previous = LOCAL.with(|l| {
            let previous = (l.scope.get(), l.slot.get(), l.reported.get());
            l.scope.set(self);
            l.slot.set(slot);
            l.reported.set(0);
            l.epoch.set(u64::MAX);
            let rate = self.heap.get().map_or(0, HeapTable::rate);
            l.until_sample.set(heap_profile::next_gap(&l.rng, rate));
            previous
        });
        ScopeGuard { previous }
    }
}

/// Puts the current thread in `scope` for the rest of its life, or until
/// [`leave_thread`] (for a runtime's thread start hook).
pub(crate) fn enter_thread(scope: &'static Scope) {
    std::mem::forget(scope.enter());
}

/// Takes the current thread out of its scope (thread stop hook).
pub(crate) fn leave_thread() {
    let _ = LOCAL.try_with(|l| {
        l.scope.set(ptr::null());
        l.slot.set(ptr::null());
        l.reported.set(0);
        l.until_sample.set(i64::MAX);
    });
}

/// Restores the thread's previous scope when dropped.
pub struct ScopeGuard {
    previous: (*const Scope, *const Slot, i64),
}

impl Drop for ScopeGuard {
    fn drop(&mut self) {
        let (scope, slot, reported) = self.previous;
        let _ = LOCAL.try_with(|l| {
            l.scope.set(scope);
            l.slot.set(slot);
            l.reported.set(reported);
            // SAFETY: scopes are leaked, so a non-null one is alive.
            let rate = unsafe { scope.as_ref() }
                .and_then(Scope::heap)
                .map_or(0, HeapTable::rate);
            l.until_sample.set(heap_profile::next_gap(&l.rng, rate));
        });
    }
}

/// The thread's attribution state. Const-initialised without a destructor,
/// so the allocator can use it at any time, even during thread exit.
struct Local {
    scope: Cell<*const Scope>,
    slot: Cell<*const Slot>,
    paused: Cell<u32>,
    /// Net bytes of this thread's slot last added to `shared_live`.
    reported: Cell<i64>,
    /// This thread's highest net bytes in its scope's current peak epoch.
    high: Cell<i64>,
    /// That epoch.
    epoch: Cell<u64>,
    /// Bytes this thread may still allocate before its next heap-profile
    /// sample (`i64::MAX` when its scope is not profiled).
    until_sample: Cell<i64>,
    /// The thread's generator for the sampling gaps.
    rng: Cell<u64>,
}

thread_local! {
    static LOCAL: Local = const {
        Local {
            scope: Cell::new(ptr::null()),
            slot: Cell::new(ptr::null()),
            paused: Cell::new(0),
            reported: Cell::new(0),
            high: Cell::new(i64::MIN),
            epoch: Cell::new(u64::MAX),
            until_sample: Cell::new(i64::MAX),
            rng: Cell::new(0),
        }
    };
}

/// Stops attributing this thread's allocations until the guard is dropped
/// (for the framework's own bookkeeping).
pub(crate) fn pause() -> PauseGuard {
    let _ = LOCAL.try_with(|l| l.paused.set(l.paused.get() + 1));
    PauseGuard(())
}

/// Resumes attribution when dropped.
pub(crate) struct PauseGuard(());

impl Drop for PauseGuard {
    fn drop(&mut self) {
        let _ = LOCAL.try_with(|l| l.paused.set(l.paused.get() - 1));
    }
}

/// The scope to credit an allocation made now on this thread, and the
/// thread's slot for it.
#[inline]
fn current() -> Option<(&'static Scope, &'static Slot, &'static Local)> {
    LOCAL
        .try_with(|l| {
            let (scope, slot) = (l.scope.get(), l.slot.get());
            if scope.is_null() || l.paused.get() > 0 {
                None
            } else {
                // SAFETY: scopes and slots are leaked, so live forever; the
                // thread-local lives as long as this thread, and the
                // reference does not leave it.
                Some(unsafe { (&*scope, &*slot, &*(l as *const Local)) })
            }
        })
        .ok()
        .flatten()
}

/// Reports the slot's net bytes to the scope's shared count once they have
/// moved by [`PEAK_BATCH`], and raises the peak.
#[inline]
fn note_live(scope: &Scope, slot: &Slot, local: &Local) {
    let net = slot.bytes_allocated.load(Relaxed) as i64 - slot.bytes_freed.load(Relaxed) as i64;
    let moved = net - local.reported.get();
    if moved.abs() >= PEAK_BATCH {
        local.reported.set(net);
        let live = scope.shared_live.fetch_add(moved, Relaxed) + moved;
        scope.peak.fetch_max(live, Relaxed);
    }
    let epoch = scope.epoch.load(Relaxed);
    if local.epoch.get() != epoch {
        local.epoch.set(epoch);
        local.high.set(i64::MIN);
    }
    if net > local.high.get() {
        // A new high of this thread: exact for it, the others within
        // their batch. Rare once a thread's working set is allocated.
        local.high.set(net);
        let live = scope.shared_live.load(Relaxed) + (net - local.reported.get());
        scope.peak.fetch_max(live, Relaxed);
    }
}

/// Counts an allocation of `size` bytes made now: the scope to name in
/// its header, and its heap-profile site if it was sampled (0 if not).
#[inline]
pub(crate) fn on_alloc(size: usize) -> (*const Scope, u32) {
    match current() {
        None => (ptr::null(), 0),
        Some((scope, slot, local)) => {
            bump(&slot.allocs, 1);
            bump(&slot.bytes_allocated, size as u64);
            note_live(scope, slot, local);
            let left = local.until_sample.get().wrapping_sub(size as i64);
            local.until_sample.set(left);
            let site = if left < 0 {
                sample(scope, local, size)
            } else {
                0
            };
            (scope, site)
        }
    }
}

/// The allocation that crossed the thread's sampling countdown: records
/// its stack in the scope's heap profile and draws the next gap.
#[cold]
#[inline(never)]
fn sample(scope: &Scope, local: &Local, size: usize) -> u32 {
    let Some(table) = scope.heap() else {
        local.until_sample.set(i64::MAX);
        return 0;
    };
    local
        .until_sample
        .set(heap_profile::next_gap(&local.rng, table.rate()));
    // The unwinder's and the table's own allocations are not the test's
    // (and are never sampled themselves).
    let _paused = pause();
    let mut frames = [0usize; heap_profile::MAX_DEPTH];
    match heap_profile::capture(&mut frames) {
        0 => 0,
        n => table.record(&frames[..n], size),
    }
}

/// Counts the free of `size` bytes that `owner` allocated (heap-profile
/// site `site`, 0 if unsampled).
#[inline]
pub(crate) fn on_free(owner: *const Scope, site: u32, size: usize) {
    if owner.is_null() {
        return;
    }
    if site != 0 {
        // SAFETY: headers only ever name leaked scopes.
        if let Some(table) = unsafe { &*owner }.heap() {
            let _paused = pause();
            table.free(site, size);
        }
    }
    match current() {
        Some((scope, slot, local)) if ptr::eq(scope, owner) => {
            bump(&slot.frees, 1);
            bump(&slot.bytes_freed, size as u64);
            note_live(scope, slot, local);
        }
        _ => {
            // SAFETY: headers only ever name leaked scopes.
            let owner = unsafe { &*owner };
            owner.foreign_frees.fetch_add(1, Relaxed);
            owner.foreign_bytes_freed.fetch_add(size as u64, Relaxed);
            owner.shared_live.fetch_sub(size as i64, Relaxed);
        }
    }
}

/// Retained bytes against finished iterations, for leak detection.
#[derive(Debug, Default)]
pub(crate) struct Checkpoints {
    points: Vec<(u64, i64)>,
    /// Keep one sample in this many (doubles when the list fills up).
    stride: u64,
    seen: u64,
}

const MAX_CHECKPOINTS: usize = 1024;

impl Checkpoints {
    pub(crate) fn add(&mut self, iterations: u64, live: i64) {
        self.seen += 1;
        if self.stride == 0 {
            self.stride = 1;
        }
        if !self.seen.is_multiple_of(self.stride) {
            return;
        }
        let _paused = pause();
        self.points.push((iterations, live));
        if self.points.len() >= MAX_CHECKPOINTS {
            // Thin to every other point: the list stays bounded and evenly
            // spread over the run.
            let kept: Vec<_> = self.points.iter().copied().step_by(2).collect();
            self.points = kept;
            self.stride *= 2;
        }
    }

    pub(crate) fn points(&self) -> &[(u64, i64)] {
        &self.points
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::measure::alloc::TrackingAllocator;
    use std::alloc::{GlobalAlloc, Layout};

    #[test]
    fn scopes_count_what_their_threads_allocate() {
        // Driven through this allocator directly (the test binary's global
        // allocator is the system one).
        let a = TrackingAllocator::system();
        let scope = Scope::new();
        let layout = Layout::from_size_align(100, 8).unwrap();
        let (p, q) = {
            let _in = scope.enter();
            // SAFETY: valid layout; freed below with the same layout.
            unsafe { (a.alloc(layout), a.alloc(layout)) }
        };
        // SAFETY: as above.
        unsafe { a.dealloc(p, layout) };
        let t = scope.totals();
        assert_eq!((t.allocations, t.bytes_allocated), (2, 200));
        assert_eq!(
            (t.deallocations, t.bytes_freed),
            (1, 100),
            "a free outside the scope is still its own"
        );
        assert_eq!(t.live(), 100);
        // Another thread in another scope does not touch these counters.
        let other = Scope::new();
        std::thread::scope(|s| {
            s.spawn(|| {
                let _in = other.enter();
                // SAFETY: valid layout; freed right away.
                unsafe { a.dealloc(a.alloc(layout), layout) };
            });
        });
        assert_eq!(scope.totals(), t);
        assert_eq!(other.totals().allocations, 1);
        // SAFETY: as above.
        unsafe { a.dealloc(q, layout) };
        assert_eq!(scope.totals().live(), 0);
    }

    #[test]
    fn paused_allocations_are_not_counted() {
        let a = TrackingAllocator::system();
        let scope = Scope::new();
        let layout = Layout::from_size_align(64, 8).unwrap();
        let _in = scope.enter();
        let p = {
            let _paused = pause();
            // SAFETY: valid layout, freed below.
            unsafe { a.alloc(layout) }
        };
        // SAFETY: as above.
        unsafe { a.dealloc(p, layout) };
        assert_eq!(scope.totals(), Totals::default());
    }

    #[test]
    fn a_small_peak_is_measured_exactly_not_lost_in_the_batch() {
        let a = TrackingAllocator::system();
        let scope = Scope::new();
        let small = Layout::from_size_align(1_000, 8).unwrap();
        let _in = scope.enter();
        // A warm-up that held 4,000 bytes, then a new peak epoch.
        let warm = Layout::from_size_align(4_000, 8).unwrap();
        // SAFETY: valid layouts, each freed right after.
        unsafe { a.dealloc(a.alloc(warm), warm) };
        scope.reset_peak();
        for _ in 0..10 {
            // SAFETY: as above.
            unsafe { a.dealloc(a.alloc(small), small) };
        }
        let t = scope.totals();
        assert_eq!(t.live(), 0);
        // 1,000 bytes held at once, far below PEAK_BATCH: once reported as 0.
        assert_eq!(scope.peak(t.live()), 1_000);
    }

    #[test]
    fn peak_follows_batched_live_bytes() {
        let a = TrackingAllocator::system();
        let scope = Scope::new();
        let big = Layout::from_size_align(1 << 20, 8).unwrap();
        let _in = scope.enter();
        // SAFETY: valid layout, freed below.
        let p = unsafe { a.alloc(big) };
        // SAFETY: as above.
        unsafe { a.dealloc(p, big) };
        let t = scope.totals();
        assert_eq!(t.live(), 0);
        assert_eq!(scope.peak(t.live()), 1 << 20);
    }

    #[test]
    fn checkpoints_stay_bounded_and_spread() {
        let mut c = Checkpoints::default();
        for i in 0..100_000u64 {
            c.add(i, i as i64);
        }
        let p = c.points();
        assert!(
            p.len() < MAX_CHECKPOINTS && p.len() >= MAX_CHECKPOINTS / 4,
            "{}",
            p.len()
        );
        assert!(p.last().unwrap().0 > 90_000);
    }
}
