//! Layer 3, running a test: the builder, the iteration context, the
//! scheduler (closed model, open model, arrivals), panics, signals, the
//! watchdog and the live monitor.
//!
//! Imports: `model`, `measure`.

pub(crate) mod arrival;
pub(crate) mod builder;
pub(crate) mod capacity;
pub(crate) mod ctx;
pub(crate) mod monitor;
pub(crate) mod panics;
pub(crate) mod scheduler;
pub(crate) mod setup;
pub(crate) mod signals;
pub(crate) mod watchdog;
