//! What an iteration knows about itself.

/// The context passed to an iteration: which worker runs it and which
/// iteration it is.
///
/// Take it by value (`ctx: Ctx`) or by reference (`ctx: &Ctx`).
#[derive(Debug, Clone)]
pub struct Ctx {
    pub(crate) worker: usize,
    pub(crate) workers: usize,
    pub(crate) iteration: u64,
    pub(crate) warmup: bool,
}

impl Ctx {
    /// The worker running this iteration, in `0..workers()`.
    pub fn worker(&self) -> usize {
        self.worker
    }

    /// How many workers this run has (after environment overrides).
    pub fn workers(&self) -> usize {
        self.workers
    }

    /// This iteration's index, unique within the run (warm-up and measured
    /// phases count separately). With `repeat = N` the measured indices are
    /// exactly `0..N`; with `duration` they are unique but may have gaps at
    /// the end, since workers claim indices in small blocks.
    pub fn iteration(&self) -> u64 {
        self.iteration
    }

    /// Whether this iteration belongs to the warm-up (not recorded).
    pub fn is_warmup(&self) -> bool {
        self.warmup
    }
}
