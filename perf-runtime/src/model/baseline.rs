//! Baselines as data: a run's full result saved under a version name,
//! the regression budgets a test declares, and the comparison of a later
//! run with it. Files are [`crate::io::baseline_file`]'s; the comparison is
//! computed in [`crate::judge::baseline`].

use std::fmt;
use std::path::PathBuf;

use perf_spec::Metric;
use serde::{Deserialize, Serialize};

use crate::model::error::BaselineError;
use crate::model::report::Report;
use crate::model::shard::SavedMetric;

/// Identifies a baseline file.
pub const BASELINE_FORMAT: &str = "perf-runtime-baseline";
/// The baseline file format this version reads and writes.
pub const BASELINE_FORMAT_VERSION: u32 = 1;

/// Where and how a baseline was measured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Environment {
    /// `perf-runtime`'s version.
    pub perf_runtime: String,
    /// The git commit of the workspace, if known.
    pub git_commit: Option<String>,
    /// `linux`, `macos`, …
    pub os: String,
    /// `x86_64`, `aarch64`, …
    pub arch: String,
    /// Logical CPUs.
    pub cpus: usize,
    /// Whether the test was built with debug assertions (unoptimised).
    pub debug_build: bool,
}

/// A saved baseline.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Baseline {
    /// Always [`BASELINE_FORMAT`].
    pub format: String,
    /// [`BASELINE_FORMAT_VERSION`] when written by this version.
    pub format_version: u32,
    /// The version name it was saved under (`v1.0.0`).
    pub version: String,
    /// When, in milliseconds since the Unix epoch.
    pub saved_at_unix_ms: u64,
    /// Where it was measured.
    pub environment: Environment,
    /// The run itself.
    pub report: Report,
}

/// The longest version name: its file name (`<test>@<version>.json`)
/// must stay under the file system's 255 bytes.
pub const MAX_VERSION_LEN: usize = 100;

/// Checks a version name: no path separators, no `..`, not empty, at
/// most 100 characters (`MAX_VERSION_LEN`).
pub fn check_version(version: &str) -> Result<(), BaselineError> {
    let ok = !version.is_empty()
        && version.len() <= MAX_VERSION_LEN
        && version
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
        && !version.starts_with('.');
    if ok {
        Ok(())
    } else {
        Err(BaselineError::BadVersion(version.to_owned()))
    }
}

/// A regression budget: `p95 regression < "10%"`, or for every compared
/// metric when `metric` is `None`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(into = "SavedRegression", try_from = "SavedRegression")]
pub struct Regression {
    /// The metric, or `None` for the default ones (mean, p50, p95, p99).
    pub metric: Option<Metric>,
    /// The largest relative change allowed (`0.10` for 10%).
    pub budget: f64,
}

/// A [`Regression`] as stored in a shard result.
#[derive(Serialize, Deserialize)]
struct SavedRegression {
    metric: Option<SavedMetric>,
    budget: f64,
}

impl From<Regression> for SavedRegression {
    fn from(r: Regression) -> SavedRegression {
        SavedRegression {
            metric: r.metric.map(SavedMetric::save),
            budget: r.budget,
        }
    }
}

impl TryFrom<SavedRegression> for Regression {
    type Error = String;

    fn try_from(r: SavedRegression) -> Result<Regression, String> {
        Ok(Regression {
            metric: r.metric.as_ref().map(|m| m.load()).transpose()?,
            budget: r.budget,
        })
    }
}

/// A run compared with its baseline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BaselineComparison {
    /// The baseline's version.
    pub version: String,
    /// Its file, relative to the baseline directory (`v1.0.0/suite/test.json`).
    pub path: PathBuf,
    /// `Some(message)` when there was no baseline to compare with.
    pub missing: Option<String>,
    /// One row per metric.
    pub metrics: Vec<MetricComparison>,
    /// Why the machine is measurably different from when the baseline was
    /// saved (its calibration moved), if it is, and what that means for
    /// this test: a change the machine alone could explain is
    /// inconclusive, one beyond it and the budget still a regression.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub machine: Option<String>,
    /// `PERF_REQUIRE_BASELINE` was set: a missing baseline fails the run
    /// (decided before the report is written, so not serialised).
    #[serde(skip)]
    pub required: bool,
}

impl BaselineComparison {
    /// The rows that regressed beyond their budget.
    pub fn regressions(&self) -> impl Iterator<Item = &MetricComparison> {
        self.metrics.iter().filter(|m| m.regressed())
    }

    /// No regression beyond its budget, and no required baseline missing.
    pub fn holds(&self) -> bool {
        self.regressions().next().is_none() && !(self.missing.is_some() && self.required)
    }

    /// The gated rows the comparison could not decide (regressed or not).
    pub fn undecided(&self) -> impl Iterator<Item = &MetricComparison> {
        self.metrics
            .iter()
            .filter(|m| m.budget.is_some() && m.verdict == Verdict::Inconclusive)
    }

    /// [`holds`](Self::holds), and under `inconclusive = "fail"`
    /// (`PERF_INCONCLUSIVE=fail`) no gated row undecided.
    pub fn holds_under(&self, policy: perf_spec::Inconclusive) -> bool {
        self.holds()
            && (policy != perf_spec::Inconclusive::Fail || self.undecided().next().is_none())
    }
}

/// What a comparison concluded about one metric.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Worse by more than the budget: the whole interval of the change lies
    /// beyond it (after the correction for the several metrics gated).
    Regressed,
    /// Significantly worse (beyond the 1% noise threshold), and the
    /// interval does not reach the budget.
    WorseWithinBudget,
    /// Significantly worse, on a metric without a budget.
    Worse,
    /// Significantly better.
    Improved,
    /// No significant change (`~` in tables).
    Unchanged,
    /// The data cannot tell: too few samples, a gated metric significantly
    /// worse whose interval reaches past the budget, one run on each side
    /// (run-to-run noise unknown), or a machine that changed.
    Inconclusive,
}

/// The comparison of one metric between an old and a new run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetricComparison {
    /// `mean`, `p95`, `error_rate`, …
    pub metric: String,
    /// The old value (nanoseconds, or a fraction for `error_rate`).
    pub old: f64,
    /// The new value.
    pub new: f64,
    /// `(new − old) / old`; positive is worse.
    pub delta: f64,
    /// One-sided p-value of "new is worse", when conclusive.
    pub p_value: Option<f64>,
    /// Iterations still needed, when inconclusive.
    pub need_more: Option<u64>,
    /// The change's interval, as relative deltas `[low, high]`: each bound
    /// one-sided at the significance level (a 90% interval at alpha 0.05).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval: Option<[f64; 2]>,
    /// The one-sided level of each bound of `interval` when it is not
    /// the test's own: a gated metric's interval is at the level Holm's
    /// correction tested it at (`0.9875` for the first of 4 gated metrics
    /// at alpha 0.05), so that it lies beyond the budget exactly when the
    /// metric regressed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub level: Option<f64>,
    /// Runs on each side, `[baseline, this]`: with several on a side, their
    /// spread is the noise the change is tested against.
    #[serde(default = "one_run_each")]
    pub runs: [u32; 2],
    /// Gated rows: the one-sided p-value of "worse by more than the
    /// budget" (before Holm's correction over the test's gated rows).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p_beyond_budget: Option<f64>,
    /// Why the verdict is inconclusive, when it is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The budget, if this metric is gated (`0.10` for 10%).
    pub budget: Option<f64>,
    /// The conclusion.
    pub verdict: Verdict,
}

fn one_run_each() -> [u32; 2] {
    [1, 1]
}

impl MetricComparison {
    /// A regression beyond its budget.
    pub fn regressed(&self) -> bool {
        self.verdict == Verdict::Regressed
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Verdict::Regressed => "REGRESSED",
            Verdict::WorseWithinBudget => "worse (within budget)",
            Verdict::Worse => "worse",
            Verdict::Improved => "better",
            Verdict::Unchanged => "~",
            Verdict::Inconclusive => "inconclusive",
        })
    }
}
