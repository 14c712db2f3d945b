//! What a test does with its report once the run is measured: compare it
//! with a baseline, save it as one, publish its metrics.
//!
//! A single-machine run does this at the end of
//! [`PerfTest::run`](crate::PerfTest::run). A distributed run cannot: no
//! shard sees the whole load. Each shard result carries the test's
//! [`AfterRun`] instead, and `perf-report merge` applies it to the merged
//! report, reading the same environment variables (`PERF_BASELINE`,
//! `PERF_REQUIRE_BASELINE`, `PERF_SAVE_BASELINE`, `PERF_PUBLISH`,
//! `PERF_NAMESPACE`, `PERF_VERSION`), so a distributed run ends with the
//! verdict, baseline file and metrics a single machine would have produced.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::baseline::{self, BaselineComparison, Regression};
use crate::export::{MetricsExport, Publish, DEFAULT_NAMESPACE};
use crate::{Error, Report};

/// The test's baseline and publishing settings, as declared (the
/// environment is read when they are applied).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct AfterRun {
    /// The baseline version to compare with.
    pub baseline: Option<String>,
    /// Regression budgets against that baseline.
    pub regressions: Vec<Regression>,
    /// Save the report as this baseline version.
    pub save_baseline: Option<String>,
    /// Where the metrics go.
    pub publish: Vec<Publish>,
    /// The CloudWatch namespace.
    pub namespace: Option<String>,
}

/// A non-empty variable of the process environment: what
/// [`AfterRun::judge`] and [`AfterRun::publish`] read when the test allows
/// environment overrides.
pub fn process_env(var: &str) -> Option<String> {
    crate::env::process(var)
}

impl AfterRun {
    /// Compares `report` with its baseline in `dir` (`PERF_BASELINE` or
    /// `PERFORMANCE_TEST_BASELINE_VERSION` from `env`, else the declared
    /// one), fails it on a significant regression beyond a budget, or on a
    /// missing baseline when `PERF_REQUIRE_BASELINE` is set; then saves it
    /// as baseline `PERF_SAVE_BASELINE` (else the declared version) unless
    /// the run timed out or was aborted. Returns the version and path saved.
    pub fn judge(
        &self,
        report: &mut Report,
        dir: &Path,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Option<(String, PathBuf)>, Error> {
        let compare_with = env("PERF_BASELINE")
            .or_else(|| env("PERFORMANCE_TEST_BASELINE_VERSION"))
            .or(self.baseline.clone());
        let required = crate::env::flag(env, "PERF_REQUIRE_BASELINE")?.unwrap_or(false);
        let alpha = crate::env::alpha(env, crate::stats::DEFAULT_ALPHA)?;
        if let Some(version) = compare_with {
            let comparison = self.compare(report, dir, &version, required, alpha)?;
            if comparison.regressions().next().is_some()
                || (comparison.missing.is_some() && required)
            {
                report.passed = false;
            }
            report.baseline = Some(comparison);
        }
        let save_as = env("PERF_SAVE_BASELINE").or(self.save_baseline.clone());
        Ok(match save_as {
            Some(version)
                if !report.timed_out && !report.interrupted && report.aborted.is_none() =>
            {
                let path = baseline::save(dir, &version, report)?;
                Some((version, path))
            }
            _ => None,
        })
    }

    /// The end of a run, in a single machine's order: [`judge`](Self::judge)
    /// the report, hand its summary (with the saved baseline's path, if one
    /// was saved) to `print`, write it as JSON to `json`
    /// (if any), then [`publish`](Self::publish) it.
    pub fn finish(
        &self,
        report: &mut Report,
        baselines: &Path,
        json: Option<&Path>,
        env: &dyn Fn(&str) -> Option<String>,
        print: impl FnOnce(String),
    ) -> Result<(), Error> {
        let saved = self.judge(report, baselines, env)?;
        let mut summary = report.summary();
        if let Some((version, path)) = saved {
            summary.push_str(&format!("\n  baseline {version} saved: {}", path.display()));
        }
        print(summary);
        if let Some(path) = json {
            report.write_json(path)?;
        }
        self.publish(report, env)
    }

    fn compare(
        &self,
        report: &Report,
        dir: &Path,
        version: &str,
        required: bool,
        alpha: f64,
    ) -> Result<BaselineComparison, Error> {
        let path = baseline::baseline_path(dir, version, &report.name)?;
        // Recorded relative to the baseline directory: reports and saved
        // baselines are shared and committed, a home directory is not.
        let shown = path.strip_prefix(dir).unwrap_or(&path).to_owned();
        let Some(old) = baseline::load(&path)? else {
            let how = format!("save one with PERF_SAVE_BASELINE={version} cargo test");
            let consequence = if required {
                "PERF_REQUIRE_BASELINE is set, so this fails"
            } else {
                "not compared"
            };
            return Ok(BaselineComparison {
                version: version.to_owned(),
                missing: Some(format!(
                    "no baseline {version} for this test (looked for {} in the baseline directory); {how}; {consequence}",
                    shown.display()
                )),
                path: shown,
                metrics: Vec::new(),
            });
        };
        if old.report.name != report.name {
            // Two test names that once mapped to one file, or a file
            // copied by hand: comparing would judge one test by another.
            return Err(baseline::BaselineError::Invalid {
                path,
                reason: format!(
                    "it was saved for test `{}`, not for `{}`; save a baseline for this test with PERF_SAVE_BASELINE={version} cargo test",
                    old.report.name, report.name
                ),
            }
            .into());
        }
        Ok(BaselineComparison {
            version: version.to_owned(),
            path: shown,
            missing: None,
            metrics: baseline::compare(&old.report, report, &self.regressions, alpha),
        })
    }

    /// Publishes `report`'s metrics to the declared destinations, or to
    /// `PERF_PUBLISH` from `env` (which replaces them), into
    /// `PERF_NAMESPACE`, the declared namespace or `Performance/Testing`,
    /// with a `Version` dimension from `PERF_VERSION`.
    pub fn publish(
        &self,
        report: &Report,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<(), Error> {
        let targets = match env("PERF_PUBLISH") {
            Some(value) => perf_spec::parse_publish_targets(&value)
                .map_err(|reason| Error::Env {
                    var: "PERF_PUBLISH".into(),
                    value: value.clone(),
                    reason,
                })?
                .into_iter()
                .map(Publish::from)
                .collect(),
            None => self.publish.clone(),
        };
        if targets.is_empty() {
            return Ok(());
        }
        let namespace = crate::env::namespace(env)?
            .or(self.namespace.clone())
            .unwrap_or_else(|| DEFAULT_NAMESPACE.to_owned());
        let mut export = MetricsExport::new(namespace);
        if let Some(version) = env("PERF_VERSION") {
            export = export.dimension("Version", version);
        }
        for target in &targets {
            target.run(&export, report)?;
        }
        Ok(())
    }
}
