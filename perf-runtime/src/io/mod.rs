//! Layer 6, the outside world: the only code that reads `PERF_*`
//! variables (one typed configuration built from an injectable lookup)
//! and the only code that touches files (atomic writes, report and
//! baseline paths, baseline and shard result files, EMF files, the lock perf tests take
//! turns with).
//!
//! Imports: every layer before it.

pub(crate) mod baseline_file;
pub(crate) mod config;
pub(crate) mod emf_file;
pub(crate) mod exclusive;
pub(crate) mod files;
pub(crate) mod profile_file;
pub(crate) mod report_file;
pub(crate) mod shard_file;
