//! Layer 1, the vocabulary of a run: load shape, shard identity, what was
//! measured (defined once, with its merge), timeline, thresholds as
//! declared, the report as plain data, outcome, errors, and the histogram
//! codec their serialised forms use. No I/O, no clock, no environment.
//!
//! Imports: nothing of this crate outside `model`.

pub(crate) mod after;
pub(crate) mod auto;
pub(crate) mod baseline;
pub(crate) mod batch;
pub(crate) mod capacity;
pub(crate) mod codec;
pub(crate) mod error;
pub(crate) mod load;
pub(crate) mod measured;
pub(crate) mod memory;
pub(crate) mod outcome;
pub(crate) mod phase;
pub(crate) mod profile;
pub(crate) mod report;
pub(crate) mod resources;
pub(crate) mod runs;
pub(crate) mod sanity;
pub(crate) mod saved_threshold;
pub(crate) mod scenarios;
pub(crate) mod shard;
pub(crate) mod threshold;
pub(crate) mod timeline;
