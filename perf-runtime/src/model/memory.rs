//! Memory figures of a measured phase, and the leak verdict.

use serde::{Deserialize, Serialize};

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
    /// Too few checkpoints after warm-up to fit a line (fewer than
    /// [`MIN_LEAK_CHECKPOINTS`]): neither a leak nor its absence is
    /// known, and a leak threshold is inconclusive. (Reports written
    /// before it read as conclusive.)
    #[serde(default)]
    pub inconclusive: bool,
}

/// Checkpoints after warm-up that leak detection needs before it says
/// anything: with fewer, the verdict is inconclusive.
pub const MIN_LEAK_CHECKPOINTS: usize = 8;

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
    /// [`PEAK_BATCH`](crate::measure::scope::PEAK_BATCH) per thread.
    pub peak_live_bytes: u64,
    /// Bytes still allocated by the test when the run ended.
    pub live_bytes_at_end: i64,
    /// Leak detection's verdict.
    pub leak: LeakVerdict,
}
