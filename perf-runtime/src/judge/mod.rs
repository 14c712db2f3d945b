//! Layer 4, pure functions from measured data to verdicts: thresholds
//! (whole run, per window, live for `abort_on_fail`, implicit defaults,
//! the looks of `repeat = "auto"`),
//! the verdict of a run (computed once, in [`verdict`]), SLAs,
//! statistics, baseline and case comparisons, leak detection. No clock,
//! no environment, no files: what they need is passed in.
//!
//! Imports: `model`, `measure`, `run`.

pub(crate) mod baseline;
pub(crate) mod blocks;
pub(crate) mod capacity;
pub(crate) mod cases;
pub(crate) mod change;
pub(crate) mod figures;
pub(crate) mod interval;
pub(crate) mod leak;
pub(crate) mod live;
pub(crate) mod order;
pub(crate) mod phases;
pub(crate) mod resources;
pub(crate) mod shown;
pub(crate) mod sla;
pub(crate) mod stats;
pub(crate) mod student;
#[cfg(test)]
pub(crate) mod synthetic;
pub(crate) mod threshold;
pub(crate) mod until;
pub(crate) mod verdict;
