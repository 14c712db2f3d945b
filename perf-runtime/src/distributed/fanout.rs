//! The Lambda fan-out's orchestration: `N` shards of one perf test
//! invoked at once through an [`Invoker`] (the Lambda client is one, in
//! `aws::lambda`), with a common start a little ahead, their results
//! collected and checked (see `perf_runtime::aws::lambda::fanout`).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use crate::distributed::merge::MergeError;
use crate::model::error::Error;
use crate::model::shard::{Shard, ShardResult};

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

/// Why a fan-out produced no verdict.
#[derive(Debug, thiserror::Error)]
pub enum FanOutError {
    /// A shard's invocation failed.
    #[error("shard {shard}: {error}")]
    Invoke {
        /// The shard.
        shard: Shard,
        /// What happened.
        error: Box<dyn std::error::Error + Send + Sync>,
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
    Report(#[from] Error),
}

/// Runs a perf test as `shards` concurrent invocations of a load-generator
/// function (see the [module docs](crate::aws::lambda::fanout)).
#[derive(Debug)]
pub struct FanOut<'a> {
    pub(crate) function: &'a dyn Invoker,
    pub(crate) shards: u32,
    lead: Duration,
}

/// A load-generator function the fan-out can invoke.
pub trait Invoker: Sync + std::fmt::Debug {
    /// Its name, for the summary.
    fn name(&self) -> &str;

    /// Invokes it once with `payload` and returns its answer.
    fn invoke<'a>(&'a self, payload: &'a [u8]) -> Invocation<'a>;
}

/// An invocation under way: the function's answer, or why there is none.
pub type Invocation<'a> = std::pin::Pin<
    Box<
        dyn std::future::Future<Output = Result<Vec<u8>, Box<dyn std::error::Error + Send + Sync>>>
            + Send
            + 'a,
    >,
>;

impl<'a> FanOut<'a> {
    /// `shards` invocations of `function` (at least 1). Give the function
    /// at least that much concurrency.
    pub fn new(function: &'a dyn Invoker, shards: u32) -> FanOut<'a> {
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
                    .invoke(&payload)
                    .await
                    .map_err(|error| FanOutError::Invoke { shard, error })?;
                let text = String::from_utf8_lossy(&answer);
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
