//! Memory profiling: a tracking global allocator, per-test scopes that work
//! when `cargo test` runs tests in parallel, and leak detection.
//!
//! # Installing
//!
//! In the test file (each integration test file is its own binary):
//!
//! ```ignore
//! perf_runtime::track_allocations!();
//! ```
//!
//! which is `#[global_allocator] static A: TrackingAllocator =
//! TrackingAllocator::system();`. Wrap another allocator with
//! [`TrackingAllocator::new`]. Then every perf test of that binary reports
//! its memory figures, and memory thresholds (`peak_heap < "100MB"`,
//! `allocs_per_iter <= 3`, `bytes_per_iter < "4KiB"`, `leaks == 0`,
//! `leak_per_iter < "64B"`) can be used. Without the allocator, a test with
//! memory thresholds fails and says which line to add.
//!
//! # How allocations are attributed
//!
//! Each perf test gets a [`scope`](Scope). The threads of the test's own
//! tokio runtime (workers and `spawn_blocking` threads, through the
//! runtime's thread start/stop hooks) and the thread driving it carry that
//! scope in a thread-local while the test runs, so tasks the test spawns on
//! its runtime are covered too. Every allocation is prefixed with a 16-byte
//! header (more if its alignment is larger) naming the scope that made it,
//! so a free is credited to the allocating scope whichever thread frees it.
//! Two perf tests running side by side on their own runtimes therefore see
//! only their own allocations.
//!
//! Limits: threads you spawn yourself (`std::thread::spawn`) are outside any
//! scope, and so is everything a test does before or after its run (setup
//! in the test function, a lazily initialised static first touched by
//! another test). `PerfTest::run_async` runs on your runtime, whose threads
//! have no scope: it reports no memory figures. The framework pauses
//! attribution around its own bookkeeping, so that `allocs_per_iter` counts
//! only the iteration's allocations.
//!
//! # Cost
//!
//! Counters are per thread and written only by their thread (plain loads
//! and stores, no locked instructions, no per-allocation map). The live
//! byte count that the peak is taken from is shared, and updated only when
//! a thread's own net allocation has moved by [`PEAK_BATCH`] bytes since it
//! last reported. A thread whose own net allocation reaches a new high
//! (since the phase began) raises the peak at once with its exact figure,
//! so a small peak (1,000 bytes held by one iteration) is measured, not
//! lost in the batch; other threads' contributions are within
//! [`PEAK_BATCH`] each.
//! Totals (allocations, bytes, live bytes) are exact: readers add up the
//! threads' counters. The `alloc` benchmark measures the cost.
//!
//! # Leak detection
//!
//! While a test runs, the retained bytes of its scope are sampled against
//! the number of finished iterations (at every flush of the recorder,
//! thinned to at most 1,024 checkpoints spread over the run). A leak is a
//! steady growth of retained bytes per iteration after warm-up: a
//! least-squares line is fitted to the checkpoints after the first 20% of
//! the run's iterations (caches and pools fill early), and a leak is
//! declared when
//! - the slope is at least 1 byte per iteration,
//! - the fitted growth over that span is at least 16 KiB (well above the
//!   bytes held by iterations in flight at a checkpoint),
//! - the line explains the data (R² ≥ 0.5), and
//! - growth continues to the end: the slope over the last half of the span
//!   is at least half the overall slope (a cache that stopped filling is
//!   not a leak).
//!
//! The leak's size is the slope, in bytes per iteration. A cache that is
//! still filling after 20% of the run looks like a leak: give it a warm-up
//! or a longer run.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::ptr;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering::Relaxed};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

/// Bytes a thread's net allocation may move before it updates the shared
/// live count (and so the peak).
pub const PEAK_BATCH: i64 = 16 * 1024;

/// Size of the header in front of every allocation (at least; an
/// allocation aligned to more gets a header as large as its alignment).
const HEADER: usize = 16;

static INSTALLED: AtomicBool = AtomicBool::new(false);

/// Whether a [`TrackingAllocator`] is this process's global allocator.
pub fn is_installed() -> bool {
    INSTALLED.load(Relaxed)
}

/// Installs [`TrackingAllocator`] (over the system allocator) as the global
/// allocator of this binary: write it once at the top of a test file.
#[macro_export]
macro_rules! track_allocations {
    () => {
        #[global_allocator]
        static PERF_RUNTIME_TRACKING_ALLOCATOR: $crate::memory::TrackingAllocator =
            $crate::memory::TrackingAllocator::system();
    };
}

/// A global allocator that counts allocations per perf-test scope, wrapping
/// another allocator (the system one by default).
pub struct TrackingAllocator<A = System> {
    inner: A,
}

impl TrackingAllocator<System> {
    /// Tracking over the system allocator.
    pub const fn system() -> Self {
        TrackingAllocator { inner: System }
    }
}

impl<A> TrackingAllocator<A> {
    /// Tracking over `inner`.
    pub const fn new(inner: A) -> Self {
        TrackingAllocator { inner }
    }
}

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
        }))
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

fn on_alloc(size: usize) -> *const Scope {
    match current() {
        None => ptr::null(),
        Some((scope, slot, local)) => {
            bump(&slot.allocs, 1);
            bump(&slot.bytes_allocated, size as u64);
            note_live(scope, slot, local);
            scope
        }
    }
}

fn on_free(owner: *const Scope, size: usize) {
    if owner.is_null() {
        return;
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

/// The layout with room for the header in front, and the header's size.
#[inline]
fn outer(layout: Layout) -> Option<(Layout, usize)> {
    let offset = layout.align().max(HEADER);
    let size = layout.size().checked_add(offset)?;
    Some((
        Layout::from_size_align(size, layout.align().max(HEADER)).ok()?,
        offset,
    ))
}

/// Writes the owning scope just before the user's bytes.
///
/// # Safety
/// `base` must point to an allocation of at least `offset` bytes, aligned
/// to at least 8.
#[inline]
unsafe fn write_owner(base: *mut u8, offset: usize, owner: *const Scope) -> *mut u8 {
    // SAFETY: the caller guarantees the room; `offset >= 16` and is a
    // multiple of the alignment (>= 16), so `user - 8` is 8-aligned.
    unsafe {
        let user = base.add(offset);
        user.sub(std::mem::size_of::<usize>())
            .cast::<*const Scope>()
            .write(owner);
        user
    }
}

/// Reads the owning scope written by [`write_owner`].
///
/// # Safety
/// `user` must have been returned by this allocator.
#[inline]
unsafe fn read_owner(user: *mut u8) -> *const Scope {
    // SAFETY: see `write_owner`.
    unsafe {
        user.sub(std::mem::size_of::<usize>())
            .cast::<*const Scope>()
            .read()
    }
}

/// Allocates `layout` with room for the header through `inner` (given the
/// outer layout), credits the allocation, and returns the user's part.
#[inline]
fn allocate(layout: Layout, inner: impl FnOnce(Layout) -> *mut u8) -> *mut u8 {
    if !INSTALLED.load(Relaxed) {
        INSTALLED.store(true, Relaxed);
    }
    let Some((outer, offset)) = outer(layout) else {
        return ptr::null_mut();
    };
    let base = inner(outer);
    if base.is_null() {
        return base;
    }
    let owner = on_alloc(layout.size());
    // SAFETY: `base` is a block of at least `outer.size()` bytes, aligned to
    // at least 16, of which the first `offset` are the header.
    unsafe { write_owner(base, offset, owner) }
}

// SAFETY: every block handed out is `offset` bytes into a block of the
// inner allocator, which satisfies the caller's alignment (the outer
// layout's alignment is at least the caller's and `offset` a multiple of
// it); blocks are returned to the inner allocator with the same outer
// layout they were obtained with.
unsafe impl<A: GlobalAlloc> GlobalAlloc for TrackingAllocator<A> {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: `outer` layouts have a non-zero size (at least the header).
        allocate(layout, |outer| unsafe { self.inner.alloc(outer) })
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as in `alloc`.
        allocate(layout, |outer| unsafe { self.inner.alloc_zeroed(outer) })
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        let (outer, offset) =
            outer(layout).expect("this layout was allocated, so its outer layout exists");
        // SAFETY: `ptr` came from `alloc` with this layout.
        unsafe {
            on_free(read_owner(ptr), layout.size());
            self.inner.dealloc(ptr.sub(offset), outer);
        }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let (old_outer, offset) =
            outer(layout).expect("this layout was allocated, so its outer layout exists");
        let Some(new_total) = new_size.checked_add(offset) else {
            return ptr::null_mut();
        };
        // SAFETY: `ptr` came from this allocator with `layout`; the header
        // moves with the block, then names the scope reallocating it.
        unsafe {
            let owner = read_owner(ptr);
            let base = self.inner.realloc(ptr.sub(offset), old_outer, new_total);
            if base.is_null() {
                return base;
            }
            on_free(owner, layout.size());
            let new_owner = on_alloc(new_size);
            write_owner(base, offset, new_owner)
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
        if self.seen % self.stride != 0 {
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

/// The verdict of leak detection.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LeakVerdict {
    /// Whether a leak was declared (see the module docs for the rule).
    pub detected: bool,
    /// Fitted growth of retained bytes per iteration (0 if none).
    pub bytes_per_iter: f64,
    /// How well the line fits, 0 to 1.
    pub r_squared: f64,
    /// Checkpoints the fit used.
    pub checkpoints: usize,
}

/// Least-squares slope, intercept and R² of `points`.
fn fit(points: &[(f64, f64)]) -> Option<(f64, f64)> {
    let n = points.len() as f64;
    if points.len() < 3 {
        return None;
    }
    let (mx, my) = points
        .iter()
        .fold((0.0, 0.0), |(a, b), (x, y)| (a + x / n, b + y / n));
    let (mut sxx, mut sxy, mut syy) = (0.0, 0.0, 0.0);
    for (x, y) in points {
        sxx += (x - mx) * (x - mx);
        sxy += (x - mx) * (y - my);
        syy += (y - my) * (y - my);
    }
    if sxx == 0.0 {
        return None;
    }
    let slope = sxy / sxx;
    let r2 = if syy == 0.0 {
        0.0
    } else {
        (sxy * sxy) / (sxx * syy)
    };
    Some((slope, r2))
}

/// Applies the leak rule of the module docs to `(iterations, live bytes)`.
pub(crate) fn detect_leak(checkpoints: &[(u64, i64)]) -> LeakVerdict {
    let none = |n| LeakVerdict {
        detected: false,
        bytes_per_iter: 0.0,
        r_squared: 0.0,
        checkpoints: n,
    };
    let Some(&(last, _)) = checkpoints.last() else {
        return none(0);
    };
    let from = last / 5;
    let span: Vec<(f64, f64)> = checkpoints
        .iter()
        .filter(|(x, _)| *x >= from)
        .map(|&(x, y)| (x as f64, y as f64))
        .collect();
    let Some((slope, r2)) = fit(&span) else {
        return none(span.len());
    };
    let width = span.last().map_or(0.0, |p| p.0) - span.first().map_or(0.0, |p| p.0);
    let mid = span.first().map_or(0.0, |p| p.0) + width / 2.0;
    let tail: Vec<(f64, f64)> = span.iter().copied().filter(|(x, _)| *x >= mid).collect();
    let still_growing = fit(&tail).is_some_and(|(s, _)| s >= slope / 2.0);
    let detected = slope >= 1.0 && slope * width >= 16.0 * 1024.0 && r2 >= 0.5 && still_growing;
    LeakVerdict {
        detected,
        bytes_per_iter: slope.max(0.0),
        r_squared: r2,
        checkpoints: span.len(),
    }
}

impl MemoryStats {
    /// The figures of a measured phase: counters before and after it, the
    /// scope's peak, and the leak checkpoints.
    pub(crate) fn of(
        scope: &Scope,
        before: Totals,
        after: Totals,
        iterations: u64,
        checkpoints: &[(u64, i64)],
    ) -> Self {
        let per_iter = |n: u64| {
            if iterations == 0 {
                0.0
            } else {
                n as f64 / iterations as f64
            }
        };
        let allocations = after.allocations - before.allocations;
        let bytes_allocated = after.bytes_allocated - before.bytes_allocated;
        MemoryStats {
            allocations,
            deallocations: after.deallocations - before.deallocations,
            bytes_allocated,
            allocs_per_iter: per_iter(allocations),
            bytes_per_iter: per_iter(bytes_allocated),
            peak_live_bytes: scope.peak(after.live()).max(0) as u64,
            live_bytes_at_end: after.live(),
            leak: detect_leak(checkpoints),
        }
    }
}

/// Memory figures of a perf test's measured phase.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MemoryStats {
    /// Allocations (and reallocations) made by the measured iterations.
    pub allocations: u64,
    /// Deallocations of the test's memory during the measured phase.
    pub deallocations: u64,
    /// Bytes requested by those allocations.
    pub bytes_allocated: u64,
    /// `allocations / iterations`.
    pub allocs_per_iter: f64,
    /// `bytes_allocated / iterations`.
    pub bytes_per_iter: f64,
    /// Most bytes the test's allocations held at once during the measured
    /// phase (including what the warm-up left allocated), to within
    /// [`PEAK_BATCH`] per thread.
    pub peak_live_bytes: u64,
    /// Bytes still allocated by the test when the run ended.
    pub live_bytes_at_end: i64,
    /// Leak detection's verdict.
    pub leak: LeakVerdict,
}

/// A profiler for code outside `#[perf_test]`: start it, run the code,
/// read the figures. It counts the allocations of the current thread only (use the
/// attribute for multi-threaded code):
///
/// ```no_run
/// use perf_runtime::memory::MemoryProfiler;
///
/// let profiler = MemoryProfiler::start();
/// let results: Vec<String> = (0..1000).map(|i| i.to_string()).collect();
/// drop(results);
/// let stats = profiler.stats();
/// assert!(stats.peak_bytes < 100 * 1024 * 1024);
/// assert!(!stats.leak_detected);
/// ```
pub struct MemoryProfiler {
    scope: &'static Scope,
    _guard: ScopeGuard,
}

/// What [`MemoryProfiler::stats`] reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProfilerStats {
    /// Bytes allocated since `start` and not yet freed.
    pub heap_alloc_bytes: i64,
    /// Most bytes held at once since `start` (within [`PEAK_BATCH`]).
    pub peak_bytes: i64,
    /// Allocations since `start`.
    pub allocations: u64,
    /// Bytes allocated since `start`.
    pub total_alloc_bytes: u64,
    /// Whether anything allocated since `start` is still allocated: call
    /// [`stats`](MemoryProfiler::stats) after dropping what the profiled
    /// code returned.
    pub leak_detected: bool,
}

impl MemoryProfiler {
    /// Starts counting this thread's allocations.
    ///
    /// # Panics
    /// If the [`TrackingAllocator`] is not the global allocator (see
    /// [`track_allocations!`](crate::track_allocations)).
    pub fn start() -> MemoryProfiler {
        assert!(
            is_installed(),
            "MemoryProfiler needs the tracking allocator: add `perf_runtime::track_allocations!();` at the top of this test file"
        );
        let scope = Scope::new();
        let guard = scope.enter();
        MemoryProfiler {
            scope,
            _guard: guard,
        }
    }

    /// The figures so far.
    pub fn stats(&self) -> ProfilerStats {
        let t = self.scope.totals();
        self.scope.observe_live(t.live());
        ProfilerStats {
            heap_alloc_bytes: t.live(),
            peak_bytes: self.scope.peak(t.live()),
            allocations: t.allocations,
            total_alloc_bytes: t.bytes_allocated,
            leak_detected: t.live() > 0,
        }
    }

    /// Stops counting and returns the final figures.
    pub fn stop(self) -> ProfilerStats {
        self.stats()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outer_layout_keeps_alignment_and_room() {
        for (size, align) in [(1, 1), (24, 8), (100, 16), (3, 64), (0, 4096)] {
            let layout = Layout::from_size_align(size, align).unwrap();
            let (outer, offset) = outer(layout).unwrap();
            assert!(offset >= HEADER && offset % align == 0);
            assert!(outer.align() >= align && outer.size() == size + offset);
        }
    }

    #[test]
    fn allocator_round_trips_through_the_inner_allocator() {
        let a = TrackingAllocator::system();
        for (size, align) in [(1usize, 1usize), (24, 8), (100, 16), (3, 64), (4000, 4096)] {
            let layout = Layout::from_size_align(size, align).unwrap();
            // SAFETY: valid non-zero layouts; each block is used within its
            // size and returned with the layout it was made with.
            unsafe {
                let p = a.alloc(layout);
                assert!(!p.is_null());
                assert_eq!(p as usize % align, 0);
                p.write_bytes(0xAB, size);
                let q = a.realloc(p, layout, size * 3);
                assert_eq!(q as usize % align, 0);
                assert_eq!(q.read(), 0xAB);
                q.add(size * 3 - 1).write(1);
                a.dealloc(q, Layout::from_size_align(size * 3, align).unwrap());
                let z = a.alloc_zeroed(layout);
                assert!((0..size).all(|i| z.add(i).read() == 0));
                a.dealloc(z, layout);
            }
        }
    }

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
    fn leak_rule() {
        // 48 bytes kept per iteration over 10,000 iterations, with noise.
        let leaking: Vec<(u64, i64)> = (0..200)
            .map(|i| {
                (
                    i * 50,
                    (i * 50 * 48) as i64 + if i % 2 == 0 { 3000 } else { -3000 },
                )
            })
            .collect();
        let v = detect_leak(&leaking);
        assert!(v.detected, "{v:?}");
        assert!((v.bytes_per_iter - 48.0).abs() < 2.0, "{v:?}");
        // A cache that fills in the first 10% and then stays put.
        let cache: Vec<(u64, i64)> = (0..200)
            .map(|i| (i * 50, (i.min(20) * 50 * 48) as i64))
            .collect();
        assert!(!detect_leak(&cache).detected);
        // Flat with noise.
        let flat: Vec<(u64, i64)> = (0..200)
            .map(|i| (i * 50, 1_000_000 + (i % 7) as i64 * 900))
            .collect();
        assert!(!detect_leak(&flat).detected);
        // A cache still filling in the first half, flat in the second.
        let late_cache: Vec<(u64, i64)> = (0..200)
            .map(|i| (i * 50, (i.min(100) * 4000) as i64))
            .collect();
        assert!(
            !detect_leak(&late_cache).detected,
            "{:?}",
            detect_leak(&late_cache)
        );
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
