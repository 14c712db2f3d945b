//! The vocabulary of `#[perf_test]`, shared by the macro and the runtime.
//!
//! A proc-macro crate cannot export ordinary functions, yet the same rules
//! must hold when `perf-macros` checks `p95 < "200ms"` at compile time and
//! when `perf-runtime` reads `PERF_DURATION=30s` or a builder call at run
//! time. This crate is that single definition. It has no dependencies so
//! that it adds nothing to a user's proc-macro build time.
//!
//! Not public API: use it through `perf_runtime`.

#![warn(missing_docs)]

mod capacity;
mod duration;
mod fraction;
mod load;
mod monitor;
mod phase;
mod publish;
mod size;
mod suggest;
mod threshold;
mod verdict;

#[cfg(test)]
mod fuzz;

pub use capacity::{CapacityAxis, CapacityField, CapacitySettings, MIN_CAPACITY_HOLD};
pub use duration::{format_duration, parse_duration, DurationError};
pub use fraction::{check_fraction, parse_fraction, FractionError};
pub use load::{
    check_stages, format_count, format_rate, parse_heap_rate, parse_rate, stages_duration, Profile,
    Stage, DEFAULT_HEAP_PROFILE_RATE, DEFAULT_PROFILE_HZ, ENDURANCE_FACTOR, MAX_BATCH,
    MAX_HEAP_PROFILE_RATE, MAX_PROFILE_HZ, MAX_WORKERS, MAX_WORKER_THREADS, PROFILE_NAMES,
};
pub use monitor::{Monitor, MAX_MONITORS, MAX_MONITOR_NAME};
pub use phase::{has_phase_figure, phases, recovery_limit, unknown_phase, Phase, RECOVERY_HOLD};
pub use publish::{
    check_namespace, parse_alpha, parse_publish_target, parse_publish_targets, PublishTarget,
    MAX_NAMESPACE_LEN,
};
pub use size::{format_size, format_size_digits, format_size_limit, parse_size};
pub use suggest::closest;
pub use threshold::{
    check_consistency, check_metric, Metric, MetricKind, Op, Percentile, Stat, ThresholdSpec,
    CHECKS_METRIC, CHECK_PREFIX, METRIC_NAMES,
};
pub use verdict::{
    check_confidence, check_runs, parse_confidence, parse_inconclusive, parse_runs, too_few_beyond,
    Inconclusive, INCONCLUSIVE_NAMES, MAX_RUNS, MIN_BEYOND,
};
