//! The parts of the Lambda fan-out that run a perf test or end one: a
//! shard's run inside the load-generator function, and the merged run's
//! end (judged, printed, written, like a single machine's).

use std::time::{Duration, UNIX_EPOCH};

use crate::distributed::fanout::{FanOut, FanOutError, GeneratorRequest};
use crate::io::{baseline_file, config, files};
use crate::model::error::Error;
use crate::model::outcome::IntoOutcome;
use crate::model::report::Report;
use crate::model::shard::ShardResult;
use crate::run::builder::PerfTest;
use crate::run::ctx::Ctx;

impl GeneratorRequest {
    /// In the load-generator function: runs `test` as this request's shard
    /// from the common start, on the function's runtime, and returns the
    /// shard result (no report file: a function has only `/tmp`).
    pub async fn run<F, Fut>(&self, test: PerfTest, body: F) -> Result<ShardResult, Error>
    where
        F: Fn(Ctx) -> Fut + Send + Sync + 'static,
        Fut: std::future::Future + Send + 'static,
        Fut::Output: IntoOutcome,
    {
        let report = test
            .shard(self.shard)
            .start_at(UNIX_EPOCH + Duration::from_millis(self.start_at_unix_ms))
            .no_report_file()
            .run_async(body)
            .await?;
        report.shard_result().cloned().ok_or_else(|| {
            Error::Config(format!(
                "perf test {} did not run as shard {} (gated?)",
                self.test, self.shard
            ))
        })
    }
}

impl FanOut<'_> {
    /// Invokes every shard of `test`, merges their results, compares with
    /// the baseline, saves or publishes as the test declares (and the
    /// `PERF_*` variables say, as for a single-machine run), prints the
    /// summary and writes the report (`PERF_REPORT_DIR` or
    /// `<target>/perf`); the verdict is the report's (`assert_passed`).
    pub async fn run(&self, test: &str) -> Result<Report, FanOutError> {
        let results = self.collect(test).await?;
        let after = results.first().map(|r| r.after.clone()).unwrap_or_default();
        let mut report = crate::distributed::merge::merge(results)?;
        let path = files::report_path(&files::default_dir(), &report.name);
        after.finish(
            &mut report,
            &baseline_file::default_dir(),
            Some(&path),
            &config::process,
            |summary| {
                config::print_summary(&format!(
                    "{summary}\n  merged from {} Lambda invocations of {}",
                    self.shards,
                    self.function.name()
                ));
            },
        )?;
        report.path = Some(path);
        Ok(report)
    }
}
