//! Serverless measurements through the official `aws-sdk-*` crates (cargo
//! features `lambda` and `dynamodb`), against real AWS or the local stack.
//!
//! # Where the code runs: `PERF_AWS_STACK`
//!
//! The same test code talks to real AWS or to the project's local stack
//! (`scripts/aws-stack`: moto server and cargo-lambda on loopback ports).
//! aws-config reads the standard `AWS_ENDPOINT_URL` and
//! `AWS_ENDPOINT_URL_<SERVICE>` variables, which the script sets; nothing
//! here rewrites endpoints. [`stack`] decides whether an AWS test runs:
//!
//! | `PERF_AWS_STACK` | what happens |
//! |---|---|
//! | `local` (set by `scripts/aws-stack`) | the local stack; Lambda functions are local processes |
//! | `aws` | real AWS, with your credentials and region |
//! | unset, `CI=true` | the test **fails**: CI must run under the stack |
//! | unset | the test prints one line saying how to start the stack, and returns |
//!
//! # Measurement clients
//!
//! [`sdk_config`] loads the usual configuration with **one attempt per
//! call**: the SDK's default retries would hide throttles and re-run a
//! failing Lambda function inside one measured iteration. The HTTP client
//! is tunable with [`HttpTuning`] (timeouts, connection pool).

mod backoff;
mod http;

#[cfg(feature = "cloudwatch")]
pub mod cloudwatch;
#[cfg(feature = "dynamodb")]
pub mod dynamodb;
#[cfg(feature = "eventbridge")]
pub mod eventbridge;
#[cfg(feature = "lambda")]
pub mod lambda;
#[cfg(feature = "s3")]
pub mod s3;
#[cfg(feature = "stepfunctions")]
pub mod sfn;

pub use backoff::Backoff;
pub use http::HttpTuning;

use aws_config::SdkConfig;
use aws_smithy_runtime_api::client::result::SdkError;

/// Where AWS calls go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stack {
    /// The local stack started by `scripts/aws-stack`.
    Local(LocalStack),
    /// Real AWS (`PERF_AWS_STACK=aws`).
    Aws,
}

/// The local stack's addresses, from the variables `scripts/aws-stack` sets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalStack {
    /// cargo-lambda's Lambda Runtime API base URL (`PERF_LAMBDA_RUNTIME_API`);
    /// a function named `NAME` attaches at `<this>/.rt/NAME`.
    pub lambda_runtime_api: Option<String>,
}

/// The one line printed by an AWS test that finds no stack.
pub const START_HINT: &str = "no AWS stack: run it under the local one with \
     `scripts/aws-stack -- cargo test ...`, or set PERF_AWS_STACK=aws for real AWS";

/// Reads the stack from `PERF_AWS_STACK` (see the [module docs](self)).
///
/// `Ok(None)` means "not configured, not in CI": the caller returns after
/// [`stack_or_skip`] printed [`START_HINT`].
pub fn stack() -> Result<Option<Stack>, crate::Error> {
    let value = std::env::var("PERF_AWS_STACK").unwrap_or_default();
    match value.trim() {
        "local" => Ok(Some(Stack::Local(LocalStack {
            lambda_runtime_api: std::env::var("PERF_LAMBDA_RUNTIME_API")
                .ok()
                .filter(|v| !v.is_empty()),
        }))),
        "aws" => Ok(Some(Stack::Aws)),
        "" if crate::io::config::is_ci() => Err(crate::Error::Env {
            var: "PERF_AWS_STACK".into(),
            value,
            reason: format!("CI=true and the AWS stack is not configured; {START_HINT}"),
        }),
        "" => Ok(None),
        _ => Err(crate::Error::Env {
            var: "PERF_AWS_STACK".into(),
            value,
            reason: "expected `local` (scripts/aws-stack) or `aws`".into(),
        }),
    }
}

/// For an AWS test's first line: the stack, or `None` after printing
/// "`<test>` skipped: no AWS stack: ..." (never in CI, where a missing stack
/// panics, as does a bad `PERF_AWS_STACK` value).
///
/// ```no_run
/// # async fn f() {
/// let Some(stack) = perf_runtime::aws::stack_or_skip("orders::put_item") else { return };
/// # }
/// ```
pub fn stack_or_skip(test: &str) -> Option<Stack> {
    match stack() {
        Ok(Some(stack)) => Some(stack),
        Ok(None) => {
            eprintln!("{test} skipped: {START_HINT}");
            None
        }
        Err(e) => panic!("{test}: {e}"),
    }
}

/// The SDK configuration for measurement clients: the default chain
/// (region, credentials, `AWS_ENDPOINT_URL*`), one attempt per call, and
/// the HTTP client and timeouts of `tuning`. Region defaults to `us-east-1`
/// when none is configured (the local stack does not care).
pub async fn sdk_config(tuning: &HttpTuning) -> SdkConfig {
    loader(tuning)
        .retry_config(aws_config::retry::RetryConfig::disabled())
        .load()
        .await
}

/// The default chain with `tuning`, region defaulting to `us-east-1`.
pub(crate) fn loader(tuning: &HttpTuning) -> aws_config::ConfigLoader {
    let region = aws_config::meta::region::RegionProviderChain::default_provider()
        .or_else(aws_config::Region::from_static("us-east-1"));
    tuning.apply(aws_config::defaults(aws_config::BehaviorVersion::latest()).region(region))
}

// (The helpers below serve the service modules; `aws` alone has none.)
#[cfg_attr(
    not(any(
        feature = "dynamodb",
        feature = "stepfunctions",
        feature = "eventbridge",
        feature = "cloudwatch",
        feature = "s3"
    )),
    allow(dead_code)
)]
/// Runs `fut` on a thread and current-thread runtime of its own, and waits
/// for it: for cleanup in `Drop` and for publishing when a test finishes,
/// which may happen on the test's tokio runtime (it cannot be blocked on).
/// `Err` if the runtime could not be built or the thread panicked.
pub(crate) fn block_on_own_thread<F>(fut: F) -> Result<F::Output, String>
where
    F: std::future::Future + Send + 'static,
    F::Output: Send + 'static,
{
    std::thread::spawn(move || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map(|runtime| runtime.block_on(fut))
            .map_err(|e| format!("could not build a tokio runtime: {e}"))
    })
    .join()
    .map_err(|_| "the thread panicked".to_owned())?
}

#[cfg_attr(
    not(any(feature = "lambda", feature = "dynamodb", feature = "stepfunctions")),
    allow(dead_code)
)]
/// The error class of an SDK error that is not specific to a service:
/// `timeout` for client-side timeouts, otherwise `None`.
pub(crate) fn transport_class<E, R>(err: &SdkError<E, R>) -> Option<&'static str> {
    match err {
        SdkError::TimeoutError(_) => Some("timeout"),
        SdkError::DispatchFailure(f) if f.is_timeout() => Some("timeout"),
        _ => None,
    }
}

#[cfg_attr(
    not(any(
        feature = "lambda",
        feature = "dynamodb",
        feature = "stepfunctions",
        feature = "eventbridge",
        feature = "cloudwatch",
        feature = "s3"
    )),
    allow(unused_imports)
)]
pub(crate) use crate::measure::errors::error_chain;

/// A `&'static str` for a name made at run time (a state's metric name),
/// leaked once per distinct name: custom metric names are `&'static str`
/// so that noting allocates nothing.
#[cfg_attr(not(feature = "stepfunctions"), allow(dead_code))]
pub(crate) fn intern(name: &str) -> &'static str {
    use std::collections::HashSet;
    use std::sync::{Mutex, PoisonError};
    static NAMES: Mutex<Option<HashSet<&'static str>>> = Mutex::new(None);
    let mut names = NAMES.lock().unwrap_or_else(PoisonError::into_inner);
    let names = names.get_or_insert_with(HashSet::new);
    if let Some(known) = names.get(name) {
        return known;
    }
    let leaked: &'static str = Box::leak(name.to_owned().into_boxed_str());
    names.insert(leaked);
    leaked
}
