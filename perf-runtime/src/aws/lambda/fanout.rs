//! Lambda fan-out: a perf test's iterations run inside Lambda functions,
//! `N` copies invoked at once, each a shard; the local process merges
//! their results and judges the thresholds, as serverless-artillery and
//! Artillery's Lambda mode do, with an exact merge.
//!
//! Two halves share the perf test's definition (a function returning the
//! [`PerfTest`], and its body):
//!
//! - **the load-generator function**, a binary of the user's test crate
//!   built with `lambda_runtime`, whose handler passes each
//!   [`GeneratorRequest`] to [`GeneratorRequest::run`] and answers with the
//!   [`ShardResult`];
//! - **the test**, which connects to that function and calls
//!   [`FanOut::run`]: it invokes the `N` shards concurrently with a common
//!   start a little ahead ([`FanOut::lead`]), merges their results with
//!   [`shard::merge`], prints the summary, writes the
//!   report, and returns it for `assert_passed`.
//!
//! A shard result travels in the Invoke response, which Lambda caps at
//! 6 MB (a compressed result is a few kilobytes per metric; per-second
//! timelines of long runs grow it). Set `PERF_RESULTS=s3://bucket/prefix/`
//! in the function's environment to also keep each result in S3 (feature
//! `s3`; `perf-report merge` reads them back).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use super::{Function, InvokeError};
use crate::shard::{self, MergeError, Shard, ShardResult};
use crate::{Ctx, IntoOutcome, PerfTest, Report};

/// What [`FanOut`] sends each load-generator invocation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GeneratorRequest {
    /// The perf test's name.
    pub test: String,
    /// Which shard to run.
    pub shard: Shard,
    /// The common start, milliseconds since the Unix epoch.
    pub start_at_unix_ms: u64,
}

impl GeneratorRequest {
    /// In the load-generator function: runs `test` as this request's shard
    /// from the common start, on the function's runtime, and returns the
    /// shard result (no report file: a function has only `/tmp`).
    pub async fn run<F, Fut>(&self, test: PerfTest, body: F) -> Result<ShardResult, crate::Error>
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
            crate::Error::Config(format!(
                "perf test {} did not run as shard {} (gated?)",
                self.test, self.shard
            ))
        })
    }
}

/// Why a fan-out produced no verdict.
#[derive(Debug, thiserror::Error)]
pub enum FanOutError {
    /// A shard's invocation failed.
    #[error("shard {shard}: {error}")]
    Invoke {
        /// The shard.
        shard: Shard,
        /// What happened.
        error: InvokeError,
    },
    /// A shard answered with something else than its result.
    #[error("shard {shard}: the function did not answer with a shard result: {reason}")]
    BadResult {
        /// The shard.
        shard: Shard,
        /// Why not.
        reason: String,
    },
    /// The results do not merge (a shard missing, say).
    #[error(transparent)]
    Merge(#[from] MergeError),
    /// The merged report could not be written.
    #[error(transparent)]
    Report(#[from] crate::Error),
}

/// Runs a perf test as `shards` concurrent invocations of a load-generator
/// function (see the [module docs](self)).
#[derive(Debug)]
pub struct FanOut<'a> {
    function: &'a Function,
    shards: u32,
    lead: Duration,
}

impl<'a> FanOut<'a> {
    /// `shards` invocations of `function` (at least 1). Give the function
    /// at least that much concurrency.
    pub fn new(function: &'a Function, shards: u32) -> FanOut<'a> {
        FanOut {
            function,
            shards: shards.max(1),
            lead: Duration::from_secs(2),
        }
    }

    /// Time from the invocations to the common start (default 2 s): long
    /// enough for every copy to be invoked and, if cold, initialised.
    pub fn lead(mut self, lead: Duration) -> Self {
        self.lead = lead;
        self
    }

    /// Invokes every shard of `test`, merges their results, compares with
    /// the baseline, saves or publishes as the test declares (and the
    /// `PERF_*` variables say, as for a single-machine run), prints the
    /// summary and writes the report (`PERF_REPORT_DIR` or
    /// `<target>/perf`); the verdict is the report's (`assert_passed`).
    pub async fn run(&self, test: &str) -> Result<Report, FanOutError> {
        let results = self.collect(test).await?;
        let after = results.first().map(|r| r.after.clone()).unwrap_or_default();
        let mut report = shard::merge(results)?;
        let path = crate::report::report_path(&crate::report::default_dir(), &report.name);
        after.finish(
            &mut report,
            &crate::baseline::default_dir(),
            Some(&path),
            &crate::after::process_env,
            |summary| {
                crate::report::print_summary(&format!(
                    "{summary}\n  merged from {} Lambda invocations of {}",
                    self.shards,
                    self.function.name()
                ));
            },
        )?;
        report.path = Some(path);
        Ok(report)
    }

    /// Invokes every shard of `test` and returns their results, unmerged
    /// (to keep them, or to see where each ran: [`ShardResult::origin`]).
    pub async fn collect(&self, test: &str) -> Result<Vec<ShardResult>, FanOutError> {
        let start = SystemTime::now() + self.lead;
        let start_ms = start
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64);
        let calls = (1..=self.shards).map(|i| {
            let shard = Shard {
                index: i,
                total: self.shards,
            };
            let request = GeneratorRequest {
                test: test.to_owned(),
                shard,
                start_at_unix_ms: start_ms,
            };
            async move {
                let payload =
                    serde_json::to_vec(&request).expect("a generator request always serialises");
                let answer = self
                    .function
                    .call(&payload)
                    .await
                    .map_err(|error| FanOutError::Invoke { shard, error })?;
                let text = String::from_utf8_lossy(&answer.payload);
                let result = ShardResult::from_json(&text, &format!("the answer of shard {shard}"))
                    .map_err(|reason| FanOutError::BadResult { shard, reason })?;
                if result.shard != shard || result.name != test {
                    return Err(FanOutError::BadResult {
                        shard,
                        reason: format!("it is shard {} of {}", result.shard, result.name),
                    });
                }
                Ok(result)
            }
        });
        futures_util::future::join_all(calls)
            .await
            .into_iter()
            .collect()
    }
}
