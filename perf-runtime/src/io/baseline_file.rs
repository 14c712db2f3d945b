//! Baseline files.
//!
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

use crate::io::files::{report_path, write_atomically};
use crate::model::baseline::{
    check_version, Baseline, Environment, BASELINE_FORMAT, BASELINE_FORMAT_VERSION,
};
use crate::model::error::{BaselineError, Error};
use crate::model::report::Report;
use crate::output::sink::Sink;

/// `PERF_BASELINE_DIR`, else `perf-baselines` at the workspace root (found
/// from `CARGO_MANIFEST_DIR`, which cargo sets for tests, or the current
/// directory).
pub fn default_dir() -> PathBuf {
    default_dir_from(&package_dir())
}

/// The test's package directory (`CARGO_MANIFEST_DIR`), else the current
/// directory.
fn package_dir() -> PathBuf {
    std::env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .or_else(|| std::env::current_dir().ok())
        .unwrap_or_else(|| PathBuf::from("."))
}

/// `PERF_BASELINE_DIR`, else `perf-baselines` at the root of the workspace
/// that holds `start`: what a tool run from a directory (`perf-report`,
/// through `cargo run --manifest-path` from elsewhere) uses, so that it
/// finds the baselines of the workspace it is run in, not its own.
pub fn default_dir_from(start: &Path) -> PathBuf {
    if let Some(dir) = std::env::var_os("PERF_BASELINE_DIR").filter(|d| !d.is_empty()) {
        return PathBuf::from(dir);
    }
    workspace_root(start).join("perf-baselines")
}

/// The nearest ancestor of `start` whose `Cargo.toml` has a `[workspace]`
/// table, else the nearest with a `Cargo.toml`, else `start`.
pub fn workspace_root(start: &Path) -> PathBuf {
    let manifest = |d: &Path| std::fs::read_to_string(d.join("Cargo.toml")).ok();
    start
        .ancestors()
        .find(|d| manifest(d).is_some_and(|t| t.contains("[workspace]")))
        .or_else(|| start.ancestors().find(|d| manifest(d).is_some()))
        .map_or_else(|| start.to_owned(), Path::to_owned)
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
                .current_dir(workspace_root(&package_dir()))
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
    write_atomically(&path, &json).map_err(io)?;
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

/// The baseline sink: saves the report as baseline `version` under `dir`,
/// unless the run timed out, was interrupted or aborted (its figures are
/// not the whole run's), and notes where.
pub(crate) struct SaveBaseline {
    pub(crate) dir: PathBuf,
    pub(crate) version: String,
}

impl SaveBaseline {
    /// Saves, returning the version and path (`None`: not a whole run).
    pub(crate) fn save(&self, report: &Report) -> Result<Option<(String, PathBuf)>, BaselineError> {
        if report.timed_out || report.interrupted || report.aborted.is_some() {
            return Ok(None);
        }
        let path = save(&self.dir, &self.version, report)?;
        Ok(Some((self.version.clone(), path)))
    }
}

impl Sink for SaveBaseline {
    fn deliver(&self, report: &Report, notes: &mut Vec<String>) -> Result<(), Error> {
        if let Some((version, path)) = self.save(report)? {
            notes.push(format!("baseline {version} saved: {}", path.display()));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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

    /// A report whose latencies are `latencies` (nanoseconds), none failed.
    fn report_of(latencies: impl Iterator<Item = u64>) -> Report {
        let mut h = crate::model::measured::new_histogram();
        for ns in latencies {
            h.record(ns).unwrap();
        }
        Report::from_parts("suite::compared", h, 0, std::time::Duration::from_secs(1))
    }
}
