//! Baselines: a run's full result saved under a version name, and the
//! comparison of a later run against it.
//!
//! Files live in `perf-baselines/<version>/<test path>.json` at the
//! workspace root (a directory meant to be committed; `PERF_BASELINE_DIR`
//! moves it). `PERF_SAVE_BASELINE=v1.0.1 cargo test` saves; a test with
//! `baseline = "v1.0.0"` (or `PERF_BASELINE` /
//! `PERFORMANCE_TEST_BASELINE_VERSION` in the environment) compares. A
//! baseline file holds the whole [`Report`] (summary, every latency in the
//! serialised histogram, counts, load shape) and the environment it was
//! measured in.

use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use perf_spec::Metric;
use serde::{Deserialize, Serialize};

use crate::report::{report_path, Report};
use crate::stats::{mann_whitney_greater, proportion_greater, quantile_greater, MetricComparison};

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

/// Why a baseline could not be used.
#[derive(Debug, thiserror::Error)]
pub enum BaselineError {
    /// The version name could reach outside the baseline directory.
    #[error("baseline version {0:?} is not a valid name: use letters, digits, `.`, `_` and `-` (e.g. v1.0.0)")]
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

/// Checks a version name: no path separators, no `..`, not empty.
pub fn check_version(version: &str) -> Result<(), BaselineError> {
    let ok = !version.is_empty()
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

/// `PERF_BASELINE_DIR`, else `perf-baselines` at the workspace root (found
/// from `CARGO_MANIFEST_DIR`, which cargo sets for tests, or the current
/// directory).
pub fn default_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("PERF_BASELINE_DIR").filter(|d| !d.is_empty()) {
        return PathBuf::from(dir);
    }
    workspace_root().join("perf-baselines")
}

/// The nearest ancestor of the package directory whose `Cargo.toml` has a
/// `[workspace]` table, else the package directory.
fn workspace_root() -> PathBuf {
    let start = std::env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .or_else(|| std::env::current_dir().ok())
        .unwrap_or_else(|| PathBuf::from("."));
    start
        .ancestors()
        .find(|d| {
            std::fs::read_to_string(d.join("Cargo.toml")).is_ok_and(|t| t.contains("[workspace]"))
        })
        .map(Path::to_owned)
        .unwrap_or(start)
}

/// `<dir>/<version>/<test path>.json`.
pub fn baseline_path(dir: &Path, version: &str, test: &str) -> Result<PathBuf, BaselineError> {
    check_version(version)?;
    Ok(report_path(&dir.join(version), test))
}

fn environment(debug_build: bool) -> Environment {
    let git_commit = ["GIT_COMMIT", "GITHUB_SHA", "CI_COMMIT_SHA"]
        .iter()
        .find_map(|v| std::env::var(v).ok().filter(|s| !s.is_empty()))
        .or_else(|| {
            let out = std::process::Command::new("git")
                .args(["rev-parse", "HEAD"])
                .current_dir(workspace_root())
                .output()
                .ok()?;
            out.status
                .success()
                .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
        });
    Environment {
        perf_runtime: env!("CARGO_PKG_VERSION").to_owned(),
        git_commit,
        os: std::env::consts::OS.to_owned(),
        arch: std::env::consts::ARCH.to_owned(),
        cpus: std::thread::available_parallelism().map_or(1, usize::from),
        debug_build,
    }
}

/// Saves `report` as baseline `version` under `dir`, atomically.
pub fn save(dir: &Path, version: &str, report: &Report) -> Result<PathBuf, BaselineError> {
    let path = baseline_path(dir, version, &report.name)?;
    let baseline = Baseline {
        format: BASELINE_FORMAT.to_owned(),
        format_version: BASELINE_FORMAT_VERSION,
        version: version.to_owned(),
        saved_at_unix_ms: SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64),
        environment: environment(report.debug_build),
        report: report.clone(),
    };
    let io = |source| BaselineError::Io {
        path: path.clone(),
        source,
    };
    let json = serde_json::to_vec_pretty(&baseline).map_err(|e| io(e.into()))?;
    crate::report::write_atomically(&path, &json).map_err(io)?;
    Ok(path)
}

/// Loads a baseline; `Ok(None)` if the file does not exist.
pub fn load(path: &Path) -> Result<Option<Baseline>, BaselineError> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(BaselineError::Io {
                path: path.to_owned(),
                source,
            })
        }
    };
    parse(path, &text).map(Some)
}

/// Parses a baseline file's text, naming `path` in errors.
pub fn parse(path: &Path, text: &str) -> Result<Baseline, BaselineError> {
    let invalid = |reason: String| BaselineError::Invalid {
        path: path.to_owned(),
        reason,
    };
    let value: serde_json::Value = serde_json::from_str(text).map_err(|e| {
        invalid(format!(
            "not valid JSON ({e}); the file is truncated or corrupt: save it again"
        ))
    })?;
    if value.get("format").and_then(|f| f.as_str()) != Some(BASELINE_FORMAT) {
        return Err(invalid(format!(
            "not a perf-runtime baseline (no \"format\": \"{BASELINE_FORMAT}\")"
        )));
    }
    let version = value
        .get("format_version")
        .and_then(|v| v.as_u64())
        .unwrap_or(0);
    if version > u64::from(BASELINE_FORMAT_VERSION) {
        return Err(invalid(format!(
            "written in baseline format {version} by a newer perf-runtime; this one reads format {BASELINE_FORMAT_VERSION}"
        )));
    }
    let baseline: Baseline = serde_json::from_value(value)
        .map_err(|e| invalid(format!("does not match baseline format {version}: {e}")))?;
    baseline.report.check_schema().map_err(invalid)?;
    Ok(baseline)
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
    metric: Option<crate::shard::SavedMetric>,
    budget: f64,
}

impl From<Regression> for SavedRegression {
    fn from(r: Regression) -> SavedRegression {
        SavedRegression {
            metric: r.metric.map(crate::shard::SavedMetric::save),
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

/// The metrics compared (and gated by a bare `regression < …`).
const COMPARED: [&str; 4] = ["mean", "p50", "p95", "p99"];

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
}

impl BaselineComparison {
    /// The rows that regressed beyond their budget.
    pub fn regressions(&self) -> impl Iterator<Item = &MetricComparison> {
        self.metrics.iter().filter(|m| m.regressed())
    }
}

/// Compares `new` with `old`: mean, p50, p95, p99, any percentile named in
/// `budgets`, and the error rate. Budgets gate; other rows inform.
pub fn compare(
    old: &Report,
    new: &Report,
    budgets: &[Regression],
    alpha: f64,
) -> Vec<MetricComparison> {
    let budget_for = |name: &str| {
        budgets
            .iter()
            .find(|r| r.metric.is_some_and(|m| m.to_string() == name))
            .or_else(|| {
                budgets
                    .iter()
                    .find(|r| r.metric.is_none() && COMPARED.contains(&name))
            })
            .map(|r| r.budget)
    };
    let mut names: Vec<String> = COMPARED.iter().map(|s| (*s).to_owned()).collect();
    for r in budgets {
        if let Some(m) = r.metric {
            let name = m.to_string();
            if !names.contains(&name) && m != Metric::ErrorRate {
                names.push(name);
            }
        }
    }
    let (a, b) = (&old.histogram, &new.histogram);
    let mut rows: Vec<MetricComparison> = names
        .iter()
        .map(|name| {
            let (old_v, new_v, worse, better) = if name == "mean" {
                (
                    a.mean(),
                    b.mean(),
                    mann_whitney_greater(a, b),
                    mann_whitney_greater(b, a),
                )
            } else {
                let q = name.trim_start_matches('p').parse::<f64>().unwrap_or(50.0) / 100.0;
                (
                    a.value_at_quantile(q) as f64,
                    b.value_at_quantile(q) as f64,
                    quantile_greater(a, b, q),
                    quantile_greater(b, a, q),
                )
            };
            MetricComparison::decide(name, old_v, new_v, worse, better, budget_for(name), alpha)
        })
        .collect();
    rows.push(MetricComparison::decide(
        "error_rate",
        old.error_rate,
        new.error_rate,
        proportion_greater(old.errors, old.iterations, new.errors, new.iterations),
        proportion_greater(new.errors, new.iterations, old.errors, old.iterations),
        budget_for("error_rate"),
        alpha,
    ));
    rows
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::{Verdict, DEFAULT_ALPHA};

    #[test]
    fn version_names_cannot_escape() {
        for bad in ["", "../v1", "v1/../../x", "a/b", ".hidden", "v 1"] {
            assert!(check_version(bad).is_err(), "{bad:?}");
        }
        for good in ["v1.0.0", "main", "2026-11-28", "release_3"] {
            assert!(check_version(good).is_ok(), "{good:?}");
        }
        let p = baseline_path(Path::new("/b"), "v1.0.0", "suite::a::b").unwrap();
        assert_eq!(p, Path::new("/b/v1.0.0/suite/a/b.json"));
    }

    #[test]
    fn a_baseline_whose_report_is_of_a_newer_schema_is_refused() {
        let report = report_of([1_000u64, 2_000].into_iter());
        let dir = tempfile::tempdir().unwrap();
        let path = save(dir.path(), "v1", &report).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(parse(&path, &text).is_ok());
        let newer = text.replacen("\"schema_version\": 1", "\"schema_version\": 2", 1);
        assert_ne!(newer, text);
        let e = parse(&path, &newer).unwrap_err().to_string();
        assert!(
            e.contains("schema version 2") && e.contains(&path.display().to_string()),
            "{e}"
        );
    }

    /// A report whose latencies are `latencies` (nanoseconds), none failed.
    fn report_of(latencies: impl Iterator<Item = u64>) -> Report {
        let mut h = crate::recorder::new_histogram();
        for ns in latencies {
            h.record(ns).unwrap();
        }
        Report::from_parts("suite::compared", h, 0, std::time::Duration::from_secs(1))
    }

    #[test]
    fn budgets_gate_the_rows_they_name_and_the_other_rows_only_inform() {
        // 6,000 iterations (enough for p99.9 to be decided) spread evenly
        // over 1.00-1.10 ms; in the new run the slowest 4% take three times
        // as long: the median and p95 stay, p99 triples, the mean moves 8%.
        let ns = |i: u64| 1_000_000 + (i % 100) * 1_000;
        let old = report_of((0..6_000).map(ns));
        let new = report_of((0..6_000).map(|i| if i % 100 >= 96 { 3 * ns(i) } else { ns(i) }));
        let row = |rows: &[MetricComparison], name: &str| {
            rows.iter().find(|m| m.metric == name).unwrap().clone()
        };
        let p99 = Metric::from_name("p99").unwrap();
        let p999 = Metric::Percentile(perf_spec::Percentile::new(99.9).unwrap());

        // Only the median is gated: the tripled p99 is shown, significant,
        // and does not fail the run.
        let median = [Regression {
            metric: Metric::from_name("p50"),
            budget: 0.10,
        }];
        let rows = compare(&old, &new, &median, DEFAULT_ALPHA);
        let names: Vec<&str> = rows.iter().map(|m| m.metric.as_str()).collect();
        assert_eq!(names, ["mean", "p50", "p95", "p99", "error_rate"]);
        assert_eq!(rows.iter().filter(|m| m.regressed()).count(), 0, "{rows:?}");
        let tail = row(&rows, "p99");
        assert!(tail.delta > 1.5 && tail.budget.is_none(), "{tail:?}");
        assert_eq!(tail.verdict, Verdict::WorseWithinBudget);
        assert_eq!(row(&rows, "p50").budget, Some(0.10));

        // A budget on p99 gates it; a bare budget gates mean, p50, p95 and
        // p99 but not the error rate; a percentile outside the four gets a
        // row of its own.
        let rows = compare(
            &old,
            &new,
            &[Regression {
                metric: Some(p99),
                budget: 0.5,
            }],
            DEFAULT_ALPHA,
        );
        assert!(row(&rows, "p99").regressed(), "{rows:?}");
        assert_eq!(rows.iter().filter(|m| m.regressed()).count(), 1);
        let all = [
            Regression {
                metric: None,
                budget: 0.05,
            },
            Regression {
                metric: Some(p999),
                budget: 0.5,
            },
        ];
        let rows = compare(&old, &new, &all, DEFAULT_ALPHA);
        for name in ["mean", "p50", "p95", "p99", "error_rate"] {
            let budget = if name == "error_rate" {
                None
            } else {
                Some(0.05)
            };
            assert_eq!(row(&rows, name).budget, budget, "{name}");
        }
        assert!(
            row(&rows, "p99").regressed() && row(&rows, "p99.9").regressed(),
            "{rows:#?}"
        );
        assert!(!row(&rows, "p50").regressed(), "{rows:?}");
    }

    #[test]
    fn unusable_files_say_what_is_wrong() {
        let p = Path::new("/b/v1/x.json");
        let e = parse(p, "{\"format\": \"perf-runtime-baseline\", \"format_vers")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("/b/v1/x.json") && e.contains("truncated or corrupt"),
            "{e}"
        );
        let e = parse(p, "{\"name\": 1}").unwrap_err().to_string();
        assert!(e.contains("not a perf-runtime baseline"), "{e}");
        let e = parse(
            p,
            "{\"format\": \"perf-runtime-baseline\", \"format_version\": 7}",
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("format 7 by a newer perf-runtime"), "{e}");
        let e = parse(
            p,
            "{\"format\": \"perf-runtime-baseline\", \"format_version\": 1}",
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("does not match baseline format 1"), "{e}");
    }
}
