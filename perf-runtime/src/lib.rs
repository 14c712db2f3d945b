//! Declarative performance tests for `cargo test`.
//!
//! ```no_run
//! use perf_runtime::perf_test;
//!
//! #[perf_test(workers = 100, repeat = 1000, p95 < "200ms", p99 < "500ms", error_rate < 0.01)]
//! async fn get_item_is_fast() -> Result<(), std::io::Error> {
//!     // one iteration
//!     Ok(())
//! }
//! ```
//!
//! `cargo test` then runs a real load test: `workers` long-lived tasks on the
//! test's own tokio runtime pull iterations, every latency is recorded in an
//! HDR histogram (3 significant digits), every threshold is checked, a
//! summary is printed, a JSON [`Report`] is written to
//! `target/perf/<module path>/<test name>.json`, and a broken threshold fails
//! the test with the observed values. See [`perf_test`] for every option and
//! [`PerfTest`] for the same thing in code.
//!
//! # Where the numbers come from
//!
//! - Latency is the wall time of one iteration (`Instant` before and after
//!   awaiting it), for successful and failed iterations alike.
//! - Workers claim iteration indices from a shared counter in blocks and
//!   buffer samples locally, flushing into a few shared histograms, so the
//!   framework costs a few tens of nanoseconds per iteration (see the
//!   `overhead` benchmark).
//! - A panic in an iteration is caught and counted; `iteration_timeout`
//!   cancels and counts. Neither stops the run.

#![warn(missing_docs)]

// The layers, each importing only from those before it (the
// architecture test checks it; docs/src/architecture.md):
#[cfg(feature = "aws")]
pub mod aws;
mod distributed;
#[cfg(feature = "http")]
pub mod http;
mod io;
mod judge;
mod measure;
mod model;
mod output;
mod run;

// The top level: the run pipeline, the end of a run, and the public
// modules (each a documented view of the layers).
pub mod after;
pub mod baseline;
pub mod cases;
pub mod export;
#[cfg(feature = "lambda")]
mod fanout;
pub mod memory;
/// Tags, error classes and custom metrics named at run time
/// (`ctx.tag(status.as_str())`): interned once per distinct value, and
/// bounded.
pub mod names {
    pub use crate::measure::names::{MAX_NAMES, OVERFLOW};
}
mod capacity;
mod pipeline;
/// What the test process (and the processes it monitors) used while it
/// ran, sampled once per second: `Report::resources`, and when the load
/// generator could not keep up, `Report::saturation`.
pub mod resources {
    pub use crate::model::resources::{
        NetTraffic, ProcessResources, ProcessSample, ResourceSample, Resources, Saturation,
        Schedule, MIN_CPU_WINDOW_S, SATURATED_RUN_SHARE, SATURATED_SHARE, UNSCHEDULED_SHARE,
    };
}
mod scenarios;
pub mod shard;
pub mod stats;
mod table;

pub use io::config::env_flag;
pub use io::files::{file_name_part, report_path, write_atomically, MAX_NAME_BYTES};
pub use judge::sla::{PerformanceSLA, SlaViolation};
pub use model::auto::{AutoRun, AutoStopped, Look};
pub use model::capacity::{Capacity, CapacityAxis, CapacityResult, CapacityStep, StepOutcome};
pub use model::error::Error;
pub use model::load::{
    Auto, Batch, LoadShape, Stop, Warmup, DEFAULT_MAX_REPEAT, DEFAULT_OPEN_POOL, DEFAULT_REPEAT,
    MAX_BATCH,
};
pub use model::measured::{Batching, ErrorCount, ErrorKind, ErrorSample, StillRunning};
pub use model::outcome::IntoOutcome;
pub use model::phase::{PhaseFigures, RecoveryBound};
pub use model::report::{
    CustomStats, LatencyStats, PercentileValue, Report, TagStats, WarmupStats,
    REPORT_SCHEMA_VERSION,
};
pub use model::runs::{Calibration, RunFigures};
pub use model::scenarios::ScenariosReport;
pub use model::threshold::{
    ByteBound, CountBound, Decision, FractionBound, Interval, Judging, LatencyBound, PassBound,
    RateBound, Threshold, ThresholdOutcome, ValueBound, WindowVerdict, DEFAULT_CONFIDENCE,
};
pub use model::timeline::TimelinePoint;
pub use perf_macros::perf_test;
pub use perf_spec::{
    format_duration, format_rate, parse_alpha, parse_duration, parse_rate, Inconclusive, Metric,
    Monitor, Op, Percentile, Profile, Stage,
};
pub use run::builder::PerfTest;
pub use run::ctx::Ctx;
pub use run::setup::{WithSetup, WithWorkers};
pub use scenarios::Scenarios;
pub use table::{Benchmark, Outliers, TableReport, TableTest, DEFAULT_PARALLEL_WORKERS};

/// What a perf test file usually needs: `use perf_runtime::prelude::*;`.
pub mod prelude {
    pub use crate::measure::profiler::MemoryProfiler;
    pub use crate::{
        perf_test, track_allocations, Ctx, PerfTest, PerformanceSLA, Report, Scenarios, Threshold,
        Warmup,
    };
    pub use std::time::Duration;
}

/// The book's chapters (`docs/src`), compiled as doctests so that the
/// reference cannot drift from the API.
#[cfg(doctest)]
mod book {
    #[doc = include_str!("../../README.md")]
    mod readme {}
    #[doc = include_str!("../../docs/src/attribute.md")]
    mod attribute {}
    #[doc = include_str!("../../docs/src/structure.md")]
    mod structure {}
    #[doc = include_str!("../../docs/src/load.md")]
    mod load {}
    #[doc = include_str!("../../docs/src/memory.md")]
    mod memory {}
    #[doc = include_str!("../../docs/src/resources.md")]
    mod resources {}
    #[doc = include_str!("../../docs/src/verdicts.md")]
    mod verdicts {}
    #[doc = include_str!("../../docs/src/reports.md")]
    mod reports {}
    #[cfg(all(
        feature = "lambda",
        feature = "dynamodb",
        feature = "stepfunctions",
        feature = "eventbridge",
        feature = "cloudwatch"
    ))]
    #[doc = include_str!("../../docs/src/serverless.md")]
    mod serverless {}
    #[cfg(feature = "http")]
    #[doc = include_str!("../../docs/src/http.md")]
    mod http {}
    #[cfg(feature = "lambda")]
    #[doc = include_str!("../../docs/src/distributed.md")]
    mod distributed {}
    #[doc = include_str!("../../docs/src/bad-input.md")]
    mod bad_input {}
    #[doc = include_str!("../../docs/src/overhead.md")]
    mod overhead {}
    #[doc = include_str!("../../docs/src/architecture.md")]
    mod architecture {}
}

#[doc(hidden)]
#[path = "private.rs"]
pub mod __private;

/// Prints a block of figures (a table a test computed, such as a memory
/// sweep) the way summaries are printed: straight to stderr, so passing
/// tests show it too; `PERF_SUMMARY=captured` sends it to the captured
/// stdout instead and `PERF_SUMMARY=never` drops it.
pub fn print_figures(text: &str) {
    io::config::print_summary(text.trim_end());
}
