//! Errors that stop a perf test before or after it runs (not the
//! iterations' own errors, which are measured).

use std::path::PathBuf;

/// Why a perf test could not run or report.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An environment variable that overrides the load shape is malformed.
    #[error("environment variable {var}={value:?}: {reason}")]
    Env {
        /// The variable's name.
        var: String,
        /// Its value as found.
        value: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The configuration is inconsistent (builder use, or after overrides).
    #[error("invalid perf test configuration: {0}")]
    Config(String),
    /// The test's turn did not come within its timeout (another process
    /// held the perf lock).
    #[error("{0}")]
    Turn(String),
    /// The tokio runtime could not be built.
    #[error("could not build the test's tokio runtime: {0}")]
    Runtime(#[source] std::io::Error),
    /// A baseline could not be saved, read or used.
    #[error(transparent)]
    Baseline(#[from] BaselineError),
    /// The report's metrics could not be published (the JSON report was
    /// written first).
    #[error("could not publish the metrics to {target}: {reason}")]
    Publish {
        /// `cloudwatch` or the EMF destination.
        target: String,
        /// What went wrong.
        reason: String,
    },
    /// The JSON report could not be written.
    #[error("could not write the report {}: {source}", path.display())]
    Report {
        /// The file that was being written.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
}

/// Why a baseline could not be used.
#[derive(Debug, thiserror::Error)]
pub enum BaselineError {
    /// The version name could reach outside the baseline directory.
    #[error("baseline version {0:?} is not a valid name: use up to 100 letters, digits, `.`, `_` and `-` (e.g. v1.0.0)")]
    BadVersion(String),
    /// The file could not be read or written.
    #[error("baseline file {}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// The file exists but is not a usable baseline.
    #[error("baseline file {} is unusable: {reason}", path.display())]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
}
