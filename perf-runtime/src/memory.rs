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
//! With fewer than [`MIN_LEAK_CHECKPOINTS`] checkpoints in that span (a
//! run of a few iterations), the verdict is inconclusive, never "no
//! leak", and a leak threshold follows the test's `inconclusive` policy.
//! While memory is tracked the recorder flushes every 8 iterations per
//! worker at first (every 256 from about 32,000 iterations on), so a run
//! of 200 iterations has about 20.
//!
//! The leak's size is the slope, in bytes per iteration. A cache that is
//! still filling after 20% of the run looks like a leak: give it a warm-up
//! or a longer run.

//!
//! # Heap profiles
//!
//! `heap_profile` in the attribute (`heap_profile = "64KiB"` for another
//! rate), [`PerfTest::heap_profile`](crate::PerfTest::heap_profile), or
//! `PERF_HEAP_PROFILE=1` for every test (`PERF_HEAP_PROFILE_RATE=64KiB`):
//! the allocator samples the test's allocations with their call stacks,
//! on average one per 512 KiB allocated, as tcmalloc, jemalloc and Go do.
//! Each thread counts down a gap drawn from an exponential distribution
//! whose mean is the rate, and samples the allocation that crosses zero, so
//! an allocation of `s` bytes is sampled with probability
//! `1 − e^(−s/rate)` and each sample is scaled by the inverse: the
//! profile's totals are unbiased whatever the allocation sizes (a
//! 100-byte block is sampled once in ~5,000, a 1 MiB one nearly always).
//! A sampled block is marked in its header, so its free (on any thread)
//! takes it out of the bytes in use.
//!
//! At the end of the run the stacks are symbolised, the allocator's own
//! frames dropped, and `<test>.heap.pb.gz` written beside the JSON report
//! in pprof's heap format (`alloc_objects`, `alloc_space`,
//! `inuse_objects`, `inuse_space`; `go tool pprof -sample_index=inuse_space
//! -top`, or `pprof -http=: file`). The summary and the JSON report name
//! the sites (the first frame in the crate under test, else the first
//! outside the standard library and other crates) that allocated the
//! most, and, when a leak is detected, those that hold what is retained:
//! `retained at end: 4.31 MiB, 100% from `leaky_insert` (tests/heap_profile.rs:22)`.
//! A build with line tables only (`debug = "line-tables-only"`) names
//! functions without their module path; full debug information (cargo's
//! default `dev` profile) gives the whole path.
//!
//! Cost (`cargo bench -p perf-runtime --bench alloc`, 64-byte allocation
//! and free, fastest of 9 interleaved rounds on a 2-core VM): the
//! countdown adds 0 to 1 ns to an unsampled allocation (in a scope:
//! 14.1–15.0 ns per pair with or without it; the system allocator alone
//! 8.2–9.2 ns); a sampled one costs about 1.5 µs (unwinding the stack,
//! the table's lock). At the default rate that is one sample per 8,192
//! such allocations, 0.2 ns each on average. Off by default.

pub use crate::measure::alloc::{is_installed, TrackingAllocator};
pub use crate::measure::profiler::{MemoryProfiler, ProfilerStats};
pub use crate::measure::scope::{Scope, ScopeGuard, Totals, PEAK_BATCH};
pub use crate::model::memory::{LeakVerdict, MemoryStats, MIN_LEAK_CHECKPOINTS};

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
