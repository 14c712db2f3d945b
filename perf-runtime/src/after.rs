//! What a test does with its report once the run is measured: compare it
//! with a baseline, save it as one, publish its metrics; the end-of-run
//! pipeline that hands the judged report to its sinks, and the one place
//! the sinks are named.
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

use crate::io::baseline_file::{self, SaveBaseline};
use crate::io::config::Config;
use crate::io::emf_file::EmfFile;
use crate::io::report_file::JsonFile;
use crate::io::shard_file::ShardDir;
use crate::judge::stats::DEFAULT_ALPHA;
use crate::model::baseline::BaselineComparison;
use crate::model::error::{BaselineError, Error};
use crate::model::report::Report;
use crate::output::emf::{EmfStdout, MetricsExport};
use crate::output::print::{with_notes, PrintSummary};
use crate::output::sink::{Sink, Sinks};

pub use crate::model::after::{AfterRun, Publish, DEFAULT_NAMESPACE};

/// A non-empty variable of the process environment: what
/// [`AfterRun::judge`] and [`AfterRun::publish`] read when the test allows
/// environment overrides.
pub fn process_env(var: &str) -> Option<String> {
    crate::io::config::process(var)
}

/// The sink a publishing destination is.
fn publish_sink(target: &Publish, export: &MetricsExport) -> Box<dyn Sink> {
    match target {
        Publish::Emf => Box::new(EmfStdout(export.clone())),
        Publish::EmfFile(path) => Box::new(EmfFile {
            export: export.clone(),
            path: path.clone(),
        }),
        #[cfg(feature = "cloudwatch")]
        Publish::CloudWatch => Box::new(crate::aws::cloudwatch::CloudWatchSink(export.clone())),
        #[cfg(not(feature = "cloudwatch"))]
        Publish::CloudWatch => Box::new(Unavailable {
            target: "CloudWatch",
            reason: "publishing to CloudWatch needs perf-runtime's `cloudwatch` cargo feature",
        }),
    }
}

/// The sink of a shard's `PERF_RESULTS`: a directory, or (feature `s3`)
/// `s3://bucket/prefix/`.
pub(crate) fn results_sink(to: &str) -> Box<dyn Sink> {
    if to.starts_with("s3://") {
        #[cfg(feature = "s3")]
        return Box::new(crate::aws::s3::S3Results(to.to_owned()));
        #[cfg(not(feature = "s3"))]
        return Box::new(NeedsS3(to.to_owned()));
    }
    Box::new(ShardDir(PathBuf::from(to)))
}

/// A destination this build cannot reach.
#[cfg(not(feature = "cloudwatch"))]
struct Unavailable {
    target: &'static str,
    reason: &'static str,
}

#[cfg(not(feature = "cloudwatch"))]
impl Sink for Unavailable {
    fn deliver(&self, _: &Report, _: &mut Vec<String>) -> Result<(), Error> {
        Err(Error::Publish {
            target: self.target.into(),
            reason: self.reason.into(),
        })
    }
}

/// A `PERF_RESULTS` this build cannot write to: delivering is the error.
#[cfg(not(feature = "s3"))]
struct NeedsS3(String);

#[cfg(not(feature = "s3"))]
impl Sink for NeedsS3 {
    fn deliver(&self, _: &Report, _: &mut Vec<String>) -> Result<(), Error> {
        Err(Error::Env {
            var: "PERF_RESULTS".into(),
            value: self.0.clone(),
            reason: "s3:// destinations need perf-runtime's `s3` feature".into(),
        })
    }
}

/// Prints with a closure (the caller's choice of where summaries go).
struct PrintWith<F>(std::cell::RefCell<Option<F>>);

impl<F: FnOnce(String)> Sink for PrintWith<F> {
    fn deliver(&self, report: &Report, notes: &mut Vec<String>) -> Result<(), Error> {
        if let Some(print) = self.0.borrow_mut().take() {
            print(with_notes(report, notes));
        }
        Ok(())
    }
}

impl AfterRun {
    /// Whether the run compares with or saves a baseline (declared, or
    /// through `PERF_BASELINE` / `PERF_SAVE_BASELINE`): then the machine is
    /// calibrated around its runs.
    pub(crate) fn touches_baselines(&self, config: &Config) -> bool {
        [
            &config.baseline,
            &self.baseline,
            &config.save_baseline,
            &self.save_baseline,
        ]
        .iter()
        .any(|v| v.is_some())
    }

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
        let config = Config::from_lookup(env)?;
        self.compare_with_baseline(report, dir, &config)?;
        let Some(save) = self.saving(dir, &config) else {
            return Ok(None);
        };
        Ok(save.save(report)?)
    }

    /// The baseline comparison, then the verdict ([`crate::judge`] decides
    /// it once, from the thresholds and this comparison).
    fn compare_with_baseline(
        &self,
        report: &mut Report,
        dir: &Path,
        config: &Config,
    ) -> Result<(), Error> {
        if let Some(version) = config.baseline.clone().or(self.baseline.clone()) {
            let alpha = config.alpha.unwrap_or(DEFAULT_ALPHA);
            let comparison = self.compare(report, dir, &version, config.require_baseline, alpha)?;
            report.baseline = Some(comparison);
        }
        crate::judge::verdict::settle(report);
        Ok(())
    }

    fn saving(&self, dir: &Path, config: &Config) -> Option<SaveBaseline> {
        let version = config
            .save_baseline
            .clone()
            .or(self.save_baseline.clone())?;
        Some(SaveBaseline {
            dir: dir.to_owned(),
            version,
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
        let config = Config::from_lookup(env)?;
        let print = PrintWith(std::cell::RefCell::new(Some(print)));
        self.end(report, baselines, json, &config, Some(Box::new(print)))
    }

    /// The end of a single-machine run: as [`finish`](Self::finish), with
    /// the summary printed where `PERF_SUMMARY` says (unless `quiet`).
    pub(crate) fn finish_run(
        &self,
        report: &mut Report,
        baselines: &Path,
        json: Option<&Path>,
        config: &Config,
        quiet: bool,
    ) -> Result<(), Error> {
        let print = (!quiet).then(|| {
            Box::new(PrintSummary {
                mode: config.summary,
            }) as Box<dyn Sink>
        });
        report.printed = !quiet && config.summary != crate::output::print::SummaryMode::Never;
        self.end(report, baselines, json, config, print)
    }

    /// Judges `report`, then delivers it: baseline save, summary, JSON
    /// file, publishing, in that order.
    fn end(
        &self,
        report: &mut Report,
        baselines: &Path,
        json: Option<&Path>,
        config: &Config,
        print: Option<Box<dyn Sink + '_>>,
    ) -> Result<(), Error> {
        self.compare_with_baseline(report, baselines, config)?;
        let mut sinks = Sinks::default();
        // The profile's files first: the summary and the JSON name them.
        if let Some(files) = json.and_then(|j| crate::io::profile_file::prepare(report, j)) {
            sinks.push(files);
        }
        if let Some(save) = self.saving(baselines, config) {
            sinks.push(save);
        }
        if let Some(print) = print {
            sinks.push(print);
        }
        if let Some(path) = json {
            sinks.push(JsonFile(path.to_owned()));
        }
        for sink in self.publish_sinks(config) {
            sinks.push(sink);
        }
        sinks.deliver(report)
    }

    fn compare(
        &self,
        report: &Report,
        dir: &Path,
        version: &str,
        required: bool,
        alpha: f64,
    ) -> Result<BaselineComparison, Error> {
        let path = baseline_file::baseline_path(dir, version, &report.name)?;
        // Recorded relative to the baseline directory: reports and saved
        // baselines are shared and committed, a home directory is not.
        let shown = path.strip_prefix(dir).unwrap_or(&path).to_owned();
        let Some(old) = baseline_file::load(&path)? else {
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
                machine: None,
                required,
            });
        };
        if old.report.name != report.name {
            // Two test names that once mapped to one file, or a file
            // copied by hand: comparing would judge one test by another.
            return Err(BaselineError::Invalid {
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
            metrics: crate::judge::baseline::compare(&old.report, report, &self.regressions, alpha),
            machine: crate::judge::baseline::machine(&old.report, report).map(|m| m.note),
            required,
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
        let config = Config::from_lookup(env)?;
        let mut sinks = Sinks::default();
        for sink in self.publish_sinks(&config) {
            sinks.push(sink);
        }
        sinks.deliver(report)
    }

    fn publish_sinks(&self, config: &Config) -> Vec<Box<dyn Sink>> {
        let targets = config.publish.as_ref().unwrap_or(&self.publish);
        if targets.is_empty() {
            return Vec::new();
        }
        let namespace = config
            .namespace
            .clone()
            .or(self.namespace.clone())
            .unwrap_or_else(|| DEFAULT_NAMESPACE.to_owned());
        let mut export = MetricsExport::new(namespace);
        if let Some(version) = &config.version {
            export = export.dimension("Version", version.clone());
        }
        targets.iter().map(|t| publish_sink(t, &export)).collect()
    }
}
