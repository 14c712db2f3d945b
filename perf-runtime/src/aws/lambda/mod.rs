//! Lambda measurements (cargo feature `lambda`): measured invocations with
//! cold/warm tags, error classes and REPORT-line metrics; forced cold
//! starts; a memory-size sweep with cost; concurrency; leak detection.
//!
//! ```no_run
//! use perf_runtime::aws::{self, lambda::Function};
//! use perf_runtime::prelude::*;
//!
//! # async fn f() -> Result<(), Box<dyn std::error::Error>> {
//! let Some(stack) = aws::stack_or_skip("orders::invoke") else { return Ok(()) };
//! let function = std::sync::Arc::new(
//!     Function::builder("orders-fn")
//!         .local_binary(env!("CARGO_MANIFEST_DIR")) // env!("CARGO_BIN_EXE_orders-fn") in a test
//!         .concurrency(4)
//!         .connect(&stack)
//!         .await?,
//! );
//! let report = PerfTest::new("orders::invoke")
//!     .workers(4)
//!     .repeat(200)
//!     .threshold(Threshold::p(95.0).lt(std::time::Duration::from_secs(1)).for_tag("cold"))
//!     .run_async(move |ctx| {
//!         let function = function.clone();
//!         async move { function.invoke(&ctx, br#"{"order":1}"#).await.map(drop) }
//!     })
//!     .await?;
//! report.assert_passed();
//! # Ok(()) }
//! ```
//!
//! # Which signal says what, where
//!
//! | measurement | on AWS | locally (cargo-lambda) |
//! |---|---|---|
//! | latency | client wall time | client wall time |
//! | cold or warm (tag `cold`/`warm`) | `Init Duration` in the REPORT line | the harness: one cold invocation per process it just started |
//! | `duration`, `billed_duration`, `init_duration`, `max_memory_used_mb` | REPORT line (`LogType::Tail`) | not available (no REPORT line) |
//! | function error (class `function_error`) | `FunctionError` set, error in the payload | HTTP 500 with `errorType`/`errorMessage` |
//! | throttle (class `throttle`) | `TooManyRequestsException` | does not happen (cargo-lambda queues) |
//! | timeout (class `timeout`) | `Task timed out` function error, or the client's timeout | the client's timeout ([`HttpTuning`]) |
//! | memory growth | `Max Memory Used` across invocations | RSS of the function's processes |
//! | forced cold start | new environment value, wait for `LastUpdateStatus == Successful` | restart the processes |
//! | memory size | `UpdateFunctionConfiguration` | `AWS_LAMBDA_FUNCTION_MEMORY_SIZE` and a restart |
//!
//! Every invocation also records `request_bytes` and `response_bytes`.

mod builder;
mod growth;

pub use growth::MemoryGrowth;

pub mod fanout;
mod local;
mod report;
mod sweep;

pub use local::LocalFunction;
pub use report::ReportLine;
pub use sweep::{Architecture, MemorySweep, Prices, SweepResult, SweepRow};

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use aws_sdk_lambda::operation::invoke::InvokeError as SdkInvokeError;
use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::{Environment, LastUpdateStatus, LogType};
use aws_sdk_lambda::Client;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;

use super::{HttpTuning, Stack};
use crate::Ctx;

/// A Lambda function under test: a client for it and, on the local stack,
/// its local processes.
#[derive(Debug)]
pub struct Function {
    client: Client,
    name: String,
    local: Option<LocalFunction>,
}

/// How to reach a function: see [`Function::builder`].
#[derive(Debug, Clone)]
pub struct FunctionBuilder {
    name: String,
    local_binary: Option<PathBuf>,
    concurrency: usize,
    memory_mb: u32,
    tuning: HttpTuning,
    env: Vec<(String, String)>,
}

/// Why a function could not be reached or reconfigured.
#[derive(Debug, thiserror::Error)]
pub enum LambdaError {
    /// The local stack lacks cargo-lambda's address.
    #[error("PERF_LAMBDA_RUNTIME_API is not set: start the local stack with scripts/aws-stack")]
    NoRuntimeApi,
    /// No binary was given for the local stack.
    #[error("function `{0}`: the local stack runs functions from a binary; call .local_binary(env!(\"CARGO_BIN_EXE_<name>\"))")]
    NoBinary(String),
    /// Starting or stopping local processes failed.
    #[error("function `{function}`: {source}")]
    Process {
        /// The function.
        function: String,
        /// What failed.
        source: std::io::Error,
    },
    /// A control-plane call failed.
    #[error("function `{function}`: {call} failed: {message}")]
    Control {
        /// The function.
        function: String,
        /// The API call.
        call: &'static str,
        /// The SDK's error, with its context.
        message: String,
    },
}

/// A failed invocation, by class.
#[derive(Clone, PartialEq, thiserror::Error)]
pub enum InvokeError {
    /// The function ran and failed (class `function_error`).
    #[error("function error {error_type}: {message}")]
    Function {
        /// `errorType` (or `FunctionError` on AWS).
        error_type: String,
        /// `errorMessage`.
        message: String,
    },
    /// Lambda refused it: `TooManyRequestsException` (class `throttle`).
    #[error("throttled: {0}")]
    Throttled(String),
    /// The client's timeout, or the function's (class `timeout`).
    #[error("timed out: {0}")]
    Timeout(String),
    /// Any other failure (class `error`).
    #[error("invoke failed: {0}")]
    Other(String),
}

/// As its `Display`: iteration errors are reported with `Debug`, and this
/// is what a person wants to read there.
impl std::fmt::Debug for InvokeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Display::fmt(self, f)
    }
}

impl InvokeError {
    /// The error class recorded for it.
    pub fn class(&self) -> &'static str {
        match self {
            InvokeError::Function { .. } => "function_error",
            InvokeError::Throttled(_) => "throttle",
            InvokeError::Timeout(_) => "timeout",
            InvokeError::Other(_) => "error",
        }
    }
}

/// A successful invocation.
#[derive(Debug, Clone)]
pub struct Invocation {
    /// Client wall time of the Invoke call.
    pub latency: Duration,
    /// The function's response.
    pub payload: Vec<u8>,
    /// The REPORT line, on AWS.
    pub report: Option<ReportLine>,
    /// Cold start or not, if known (see the module docs).
    pub cold: Option<bool>,
}

impl Function {
    /// Starts describing function `name`.
    pub fn builder(name: impl Into<String>) -> FunctionBuilder {
        FunctionBuilder {
            name: name.into(),
            local_binary: None,
            concurrency: 1,
            memory_mb: 128,
            tuning: HttpTuning::default(),
            env: Vec::new(),
        }
    }

    /// The function's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Whether its executions are local processes.
    pub fn is_local(&self) -> bool {
        self.local.is_some()
    }

    /// The Lambda client (one attempt per call).
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Invokes and returns what happened, without recording anything.
    pub async fn call(&self, payload: &[u8]) -> Result<Invocation, InvokeError> {
        let cold_local = self.with_local(|l| l.take_cold());
        let mut request = self
            .client
            .invoke()
            .function_name(&self.name)
            .payload(Blob::new(payload));
        if self.local.is_none() {
            request = request.log_type(LogType::Tail);
        }
        let start = Instant::now();
        let result = request.send().await;
        let latency = start.elapsed();
        let output = result.map_err(classify)?;
        let report = output.log_result().and_then(ReportLine::from_log_result);
        let cold = report.as_ref().map(ReportLine::is_cold).or(cold_local);
        let body = output.payload.map(Blob::into_inner).unwrap_or_default();
        if let Some(kind) = output.function_error {
            return Err(function_error(&kind, &body));
        }
        Ok(Invocation {
            latency,
            payload: body,
            report,
            cold,
        })
    }

    /// Invokes as one iteration's work and records it on `ctx`: the tag
    /// `cold`/`warm` when known, `request_bytes`/`response_bytes`, the
    /// REPORT line's `duration`, `billed_duration`, `init_duration` and
    /// `max_memory_used_mb` when present, and the error class on failure.
    pub async fn invoke(&self, ctx: &Ctx, payload: &[u8]) -> Result<Invocation, InvokeError> {
        ctx.record("request_bytes", payload.len() as f64);
        match self.call(payload).await {
            Ok(invocation) => {
                ctx.record("response_bytes", invocation.payload.len() as f64);
                if let Some(cold) = invocation.cold {
                    ctx.tag(if cold { "cold" } else { "warm" });
                }
                if let Some(r) = &invocation.report {
                    ctx.record_duration("duration", r.duration);
                    ctx.record_duration("billed_duration", r.billed_duration);
                    ctx.record("max_memory_used_mb", f64::from(r.max_memory_used_mb));
                    if let Some(init) = r.init_duration {
                        ctx.record_duration("init_duration", init);
                    }
                }
                Ok(invocation)
            }
            Err(e) => {
                ctx.error_class(e.class());
                Err(e)
            }
        }
    }

    /// Forces the next invocations to be cold starts: locally, restarts the
    /// processes; on AWS, sets a new `PERF_COLD_START` environment value and
    /// waits until the update is `Successful` (new execution environments).
    pub async fn force_cold_start(&self) -> Result<(), LambdaError> {
        if let Some(result) = self.with_local(|l| l.restart()) {
            return result.map_err(|source| self.process_error(source));
        }
        let config = self
            .client
            .get_function_configuration()
            .function_name(&self.name)
            .send()
            .await
            .map_err(|e| self.control_error("GetFunctionConfiguration", &e))?;
        let mut variables: HashMap<String, String> = config
            .environment()
            .and_then(|e| e.variables().cloned())
            .unwrap_or_default();
        let nonce = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos();
        variables.insert("PERF_COLD_START".into(), nonce.to_string());
        self.client
            .update_function_configuration()
            .function_name(&self.name)
            .environment(
                Environment::builder()
                    .set_variables(Some(variables))
                    .build(),
            )
            .send()
            .await
            .map_err(|e| self.control_error("UpdateFunctionConfiguration", &e))?;
        self.wait_updated().await
    }

    /// Sets the function's memory size (MB): locally, restarts with the new
    /// `AWS_LAMBDA_FUNCTION_MEMORY_SIZE`; on AWS, updates the configuration
    /// and waits for it. Either way the next invocations are cold.
    pub async fn set_memory(&self, memory_mb: u32) -> Result<(), LambdaError> {
        if let Some(result) = self.with_local(|l| l.set_memory(memory_mb)) {
            return result.map_err(|source| self.process_error(source));
        }
        self.client
            .update_function_configuration()
            .function_name(&self.name)
            .memory_size(memory_mb as i32)
            .send()
            .await
            .map_err(|e| self.control_error("UpdateFunctionConfiguration", &e))?;
        self.wait_updated().await
    }

    /// The function's concurrency: locally, its number of processes
    /// (restarting them); on AWS, its reserved concurrency
    /// (`PutFunctionConcurrency`), beyond which invocations are throttled.
    pub async fn set_concurrency(&self, concurrency: usize) -> Result<(), LambdaError> {
        if let Some(result) = self.with_local(|l| l.set_concurrency(concurrency)) {
            return result.map_err(|source| self.process_error(source));
        }
        self.client
            .put_function_concurrency()
            .function_name(&self.name)
            .reserved_concurrent_executions(concurrency as i32)
            .send()
            .await
            .map(drop)
            .map_err(|e| self.control_error("PutFunctionConcurrency", &e))
    }

    /// Resident memory of the local processes, in bytes, largest first
    /// (`None` on AWS: use the REPORT line's `max_memory_used_mb`).
    pub fn local_rss_bytes(&self) -> Option<Vec<u64>> {
        self.with_local(|l| {
            let mut rss = l.rss_bytes();
            rss.sort_unstable_by(|a, b| b.cmp(a));
            rss
        })
    }

    /// Local processes that exited, with their status (empty on AWS).
    pub fn crashed_processes(&self) -> Vec<String> {
        self.with_local(LocalFunction::exited).unwrap_or_default()
    }

    /// Leak detection across warm invocations: invokes `invocations` times
    /// (after one unmeasured warm-up) and samples the function's memory
    /// after each: on AWS REPORT's `Max Memory Used`, locally the largest
    /// RSS of its processes. Failed invocations are counted, not sampled.
    pub async fn memory_growth(
        &self,
        invocations: usize,
        payload: &[u8],
    ) -> Result<MemoryGrowth, InvokeError> {
        self.call(payload).await?;
        let mut samples = Vec::with_capacity(invocations);
        let mut errors = 0;
        for i in 0..invocations {
            match self.call(payload).await {
                Ok(inv) => {
                    let bytes = match (&inv.report, self.local_rss_bytes()) {
                        (Some(r), _) => Some(u64::from(r.max_memory_used_mb) << 20),
                        (None, Some(rss)) => rss.first().copied(),
                        (None, None) => None,
                    };
                    samples.extend(bytes.map(|b| (i as u64, b)));
                }
                Err(_) => errors += 1,
            }
        }
        Ok(MemoryGrowth { samples, errors })
    }

    fn with_local<R>(&self, f: impl FnOnce(&LocalFunction) -> R) -> Option<R> {
        self.local.as_ref().map(f)
    }

    async fn wait_updated(&self) -> Result<(), LambdaError> {
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            let config = self
                .client
                .get_function_configuration()
                .function_name(&self.name)
                .send()
                .await
                .map_err(|e| self.control_error("GetFunctionConfiguration", &e))?;
            match config.last_update_status() {
                None | Some(LastUpdateStatus::Successful) => return Ok(()),
                Some(LastUpdateStatus::Failed) => {
                    return Err(LambdaError::Control {
                        function: self.name.clone(),
                        call: "UpdateFunctionConfiguration",
                        message: config
                            .last_update_status_reason()
                            .unwrap_or("LastUpdateStatus is Failed")
                            .to_owned(),
                    })
                }
                _ if Instant::now() > deadline => {
                    return Err(LambdaError::Control {
                        function: self.name.clone(),
                        call: "UpdateFunctionConfiguration",
                        message: "still InProgress after 120 s".into(),
                    })
                }
                _ => tokio::time::sleep(Duration::from_millis(500)).await,
            }
        }
    }

    fn process_error(&self, source: std::io::Error) -> LambdaError {
        LambdaError::Process {
            function: self.name.clone(),
            source,
        }
    }

    fn control_error<E: std::error::Error + 'static>(
        &self,
        call: &'static str,
        e: &SdkError<E, HttpResponse>,
    ) -> LambdaError {
        LambdaError::Control {
            function: self.name.clone(),
            call,
            message: super::error_chain(e),
        }
    }
}

/// A function error from its type and its JSON error payload
/// (`{"errorType": …, "errorMessage": …}`). Lambda reports a function's
/// own timeout as one (`Task timed out after …`): classed `timeout`.
fn function_error(kind: &str, body: &[u8]) -> InvokeError {
    let json: Option<serde_json::Value> = serde_json::from_slice(body).ok();
    let field = |name: &str| {
        json.as_ref()
            .and_then(|j| j.get(name))
            .and_then(|v| v.as_str())
            .map(str::to_owned)
    };
    let message =
        field("errorMessage").unwrap_or_else(|| String::from_utf8_lossy(body).into_owned());
    let error_type = field("errorType").unwrap_or_else(|| kind.to_owned());
    if message.contains("Task timed out") || error_type == "Sandbox.Timedout" {
        return InvokeError::Timeout(message);
    }
    InvokeError::Function {
        error_type,
        message,
    }
}

fn classify(err: SdkError<SdkInvokeError, HttpResponse>) -> InvokeError {
    if super::transport_class(&err).is_some() {
        return InvokeError::Timeout(super::error_chain(&err));
    }
    if let SdkError::ServiceError(e) = &err {
        if e.err().is_too_many_requests_exception() {
            return InvokeError::Throttled(super::error_chain(&err));
        }
        // cargo-lambda answers a function error with HTTP 500 and the
        // error payload (AWS: 200 with `X-Amz-Function-Error`).
        if e.raw().status().as_u16() == 500 {
            if let Some(body) = e.raw().body().bytes() {
                if serde_json::from_slice::<serde_json::Value>(body)
                    .is_ok_and(|j| j.get("errorMessage").is_some())
                {
                    return function_error("Unhandled", body);
                }
            }
        }
    }
    InvokeError::Other(super::error_chain(&err))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn growth_is_the_fitted_slope() {
        let leak = MemoryGrowth {
            samples: (0..50)
                .map(|i| (i, 10_000_000 + i * 65_536 + (i % 3) * 4096))
                .collect(),
            errors: 0,
        };
        assert!((leak.bytes_per_invocation() - 65_536.0).abs() < 200.0);
        assert!(leak.is_leaking(1024.0, 1 << 20));
        let flat = MemoryGrowth {
            samples: (0..50).map(|i| (i, 10_000_000 + (i % 2) * 8192)).collect(),
            errors: 0,
        };
        assert!(flat.bytes_per_invocation().abs() < 200.0);
        assert!(!flat.is_leaking(1024.0, 1 << 20));
        assert_eq!(flat.first_last(), Some((10_000_000, 10_008_192)));
    }

    fn response(status: u16, body: &str) -> HttpResponse {
        let status = aws_smithy_runtime_api::http::StatusCode::try_from(status).unwrap();
        HttpResponse::new(status, body.to_owned().into())
    }

    #[test]
    fn throttles_and_local_function_errors_are_classed() {
        use aws_sdk_lambda::types::error::TooManyRequestsException;
        let throttled = SdkError::service_error(
            SdkInvokeError::TooManyRequestsException(
                TooManyRequestsException::builder()
                    .message("Rate Exceeded.")
                    .build(),
            ),
            response(429, ""),
        );
        assert_eq!(classify(throttled).class(), "throttle");
        // cargo-lambda: a function error is a 500 with the error payload.
        let local = SdkError::service_error(
            SdkInvokeError::generic(aws_sdk_lambda::error::ErrorMetadata::builder().build()),
            response(
                500,
                r#"{"errorType":"OrderRejected","errorMessage":"no stock"}"#,
            ),
        );
        assert_eq!(
            classify(local),
            InvokeError::Function {
                error_type: "OrderRejected".into(),
                message: "no stock".into()
            }
        );
        // A 500 that is not a function's error payload stays an error.
        let server = SdkError::service_error(
            SdkInvokeError::generic(aws_sdk_lambda::error::ErrorMetadata::builder().build()),
            response(500, "Internal Server Error"),
        );
        assert_eq!(classify(server).class(), "error");
    }

    #[test]
    fn function_errors_by_payload() {
        let e = function_error(
            "Unhandled",
            br#"{"errorType":"OrderRejected","errorMessage":"no stock"}"#,
        );
        assert_eq!(
            e,
            InvokeError::Function {
                error_type: "OrderRejected".into(),
                message: "no stock".into()
            }
        );
        assert_eq!(e.class(), "function_error");
        let t = function_error(
            "Unhandled",
            br#"{"errorMessage":"2026-11-28T08:00:00.000Z 1b2c Task timed out after 3.00 seconds"}"#,
        );
        assert_eq!(t.class(), "timeout");
        let raw = function_error("Handled", b"not json");
        assert_eq!(
            raw,
            InvokeError::Function {
                error_type: "Handled".into(),
                message: "not json".into()
            }
        );
    }
}
