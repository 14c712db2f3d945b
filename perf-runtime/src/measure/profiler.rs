//! A memory profiler for code outside `#[perf_test]`.

use crate::measure::alloc::is_installed;
use crate::measure::scope::{Scope, ScopeGuard};

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
    /// Most bytes held at once since `start` (within [`PEAK_BATCH`](crate::memory::PEAK_BATCH)).
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
    /// If the [`TrackingAllocator`](crate::memory::TrackingAllocator) is not the global allocator (see
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
