//! Layer 5, the end of a run: the [`sink::Sink`] trait and its fan-out,
//! the summary text and its printing, EMF lines. Sinks that write files
//! are `io`'s; CloudWatch and S3 sinks are `aws`'s.
//!
//! Imports: `model`, `measure`, `run`, `judge`.

pub(crate) mod capacity;
pub(crate) mod comparison;
pub(crate) mod emf;
pub(crate) mod load_line;
pub(crate) mod phases;
pub(crate) mod print;
pub(crate) mod profile;
pub(crate) mod resources;
pub(crate) mod scenarios;
pub(crate) mod sink;
pub(crate) mod summary;
pub(crate) mod verdicts;
