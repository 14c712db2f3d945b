//! Layer 2, the hot path: the recorder (per-worker buffers, stripes, the
//! per-second timeline), notes (tags, error classes, custom metrics), and
//! the tracking allocator with its per-test scopes, the machine
//! calibration.
//!
//! Imports: `model`.

pub(crate) mod alloc;
pub(crate) mod busy;
pub(crate) mod calibrate;
pub(crate) mod cpu_profile;
pub(crate) mod errors;
pub(crate) mod heap_pprof;
pub(crate) mod heap_profile;
pub(crate) mod names;
pub(crate) mod notes;
pub(crate) mod profiler;
pub(crate) mod recorder;
pub(crate) mod resources;
pub(crate) mod scope;
