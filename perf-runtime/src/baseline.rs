//! Baselines: a run's full result saved under a version name, and the
//! comparison of a later run against it.
//!
//! Files live in `perf-baselines/<version>/<test path>.json` at the
//! workspace root (a directory meant to be committed; `PERF_BASELINE_DIR`
//! moves it). `PERF_SAVE_BASELINE=v1.0.1 cargo test` saves; a test with
//! `baseline = "v1.0.0"` (or `PERF_BASELINE` /
//! `PERFORMANCE_TEST_BASELINE_VERSION` in the environment) compares. A
//! baseline file holds the whole [`Report`](crate::Report) (summary, every latency in the
//! serialised histogram, counts, load shape) and the environment it was
//! measured in.

pub use crate::io::baseline_file::{
    baseline_path, default_dir, default_dir_from, load, parse, save, workspace_root,
};
pub use crate::judge::baseline::{compare, compare_paired};
pub use crate::model::baseline::{
    check_version, Baseline, BaselineComparison, Environment, Regression, BASELINE_FORMAT,
    BASELINE_FORMAT_VERSION,
};
pub use crate::model::error::BaselineError;
