//! Lambda fan-out: a perf test's iterations run inside Lambda functions,
//! `N` copies invoked at once, each a shard; the local process merges
//! their results and judges the thresholds, as serverless-artillery and
//! Artillery's Lambda mode do, with an exact merge.
//!
//! Two halves share the perf test's definition (a function returning the
//! [`PerfTest`](crate::PerfTest), and its body):
//!
//! - **the load-generator function**, a binary of the user's test crate
//!   built with `lambda_runtime`, whose handler passes each
//!   [`GeneratorRequest`] to [`GeneratorRequest::run`] and answers with the
//!   [`ShardResult`](crate::shard::ShardResult);
//! - **the test**, which connects to that function and calls
//!   [`FanOut::run`]: it invokes the `N` shards concurrently with a common
//!   start a little ahead ([`FanOut::lead`]), merges their results with
//!   [`merge`](crate::distributed::merge::merge), prints the summary, writes the
//!   report, and returns it for `assert_passed`.
//!
//! A shard result travels in the Invoke response, which Lambda caps at
//! 6 MB (a compressed result is a few kilobytes per metric; per-second
//! timelines of long runs grow it). Set `PERF_RESULTS=s3://bucket/prefix/`
//! in the function's environment to also keep each result in S3 (feature
//! `s3`; `perf-report merge` reads them back).

use super::Function;

pub use crate::distributed::fanout::{FanOut, FanOutError, GeneratorRequest, Invocation, Invoker};

impl Invoker for Function {
    fn name(&self) -> &str {
        Function::name(self)
    }

    fn invoke<'a>(&'a self, payload: &'a [u8]) -> Invocation<'a> {
        Box::pin(async move {
            self.call(payload)
                .await
                .map(|answer| answer.payload)
                .map_err(|e| Box::new(e) as _)
        })
    }
}
