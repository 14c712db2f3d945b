//! Step Functions measurements (cargo feature `stepfunctions`): run an
//! execution, read its whole history, and turn it into an
//! [`ExecutionTrace`]: total time, each state's entered→exited time, the
//! transitions between states, Parallel branches and Map iterations,
//! retries and caught errors with the time spent recovering.
//!
//! [`Workflow::run`] records the trace on the iteration's `Ctx` as custom
//! duration metrics, so thresholds target them:
//!
//! | metric | what |
//! |---|---|
//! | `execution` | start to end of the execution (history timestamps) |
//! | `state:<Name>` | one state, entered to exited (each time it ran) |
//! | `transition` | a state's exit to the next state's entry |
//! | `parallel_branch` / `map_iteration` | one branch / one iteration |
//! | `recovery` | from a state's first failure to its exit (retried or caught) |
//! | `retries`, `caught_errors` (counters) | task retries, errors caught |
//!
//! e.g. `p95 of "state:ProcessOrder" < "500ms"`. A failed execution is
//! error class `execution_failed`, a timed-out one `timeout`, an aborted
//! one `aborted`.

mod scratch;
mod trace;

pub use scratch::ScratchStateMachine;
pub(crate) use trace::span;
pub use trace::trace;

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

use aws_sdk_sfn::types::{ExecutionStatus, HistoryEvent, StateMachineType};
use aws_sdk_sfn::Client;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;

use super::{intern, HttpTuning};
use crate::Ctx;

/// A state machine under test.
#[derive(Debug, Clone)]
pub struct Workflow {
    client: Client,
    arn: String,
}

/// Why an execution did not succeed, by class.
#[derive(Clone, PartialEq, thiserror::Error)]
pub enum ExecutionError {
    /// It ended `FAILED` (class `execution_failed`); the trace is attached.
    #[error("execution failed: {cause}")]
    Failed {
        /// The execution's error and cause.
        cause: String,
        /// What ran before it failed.
        trace: Box<ExecutionTrace>,
    },
    /// It ended `TIMED_OUT`, or outlasted the caller's limit and was
    /// stopped (class `timeout`).
    #[error("execution timed out: {0}")]
    TimedOut(String),
    /// It ended `ABORTED` (class `aborted`).
    #[error("execution aborted: {0}")]
    Aborted(String),
    /// An API call failed (class `error`).
    #[error("{0}")]
    Api(String),
}

/// As its `Display` (iteration errors are reported with `Debug`).
impl std::fmt::Debug for ExecutionError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Display::fmt(self, f)
    }
}

impl ExecutionError {
    /// The error class recorded for it.
    pub fn class(&self) -> &'static str {
        match self {
            ExecutionError::Failed { .. } => "execution_failed",
            ExecutionError::TimedOut(_) => "timeout",
            ExecutionError::Aborted(_) => "aborted",
            ExecutionError::Api(_) => "error",
        }
    }

    fn api<E: std::error::Error + 'static>(call: &str, e: SdkError<E, HttpResponse>) -> Self {
        let text = format!("{call}: {}", super::error_chain(&e));
        if super::transport_class(&e).is_some() {
            ExecutionError::TimedOut(text)
        } else {
            ExecutionError::Api(text)
        }
    }
}

/// One state's run: entered to exited.
#[derive(Debug, Clone, PartialEq)]
pub struct StateTiming {
    /// The state's name.
    pub name: String,
    /// Its type, from the event (`Task`, `Pass`, `Wait`, `Parallel`, `Map`, `Choice`…).
    pub kind: String,
    /// When it was entered, from the execution's start.
    pub entered: Duration,
    /// Entered to exited.
    pub duration: Duration,
    /// Task attempts after the first (Retry).
    pub retries: u32,
    /// The error it exited with, caught by a Catch (it failed and still
    /// exited).
    pub caught: Option<String>,
    /// From its first failure to its exit, if it failed at all.
    pub recovery: Option<Duration>,
}

/// A transition: a state's exit to the next state's entry.
#[derive(Debug, Clone, PartialEq)]
pub struct Transition {
    /// The state exited.
    pub from: String,
    /// The state entered.
    pub to: String,
    /// The gap.
    pub gap: Duration,
}

/// An execution, as its history tells it.
#[derive(Debug, Clone, PartialEq)]
pub struct ExecutionTrace {
    /// The execution's ARN.
    pub execution_arn: String,
    /// `SUCCEEDED`, `FAILED`, `TIMED_OUT`, `ABORTED`.
    pub status: String,
    /// First to last history event.
    pub total: Duration,
    /// Every state run, in order of entry.
    pub states: Vec<StateTiming>,
    /// Every transition between states.
    pub transitions: Vec<Transition>,
    /// Each Parallel branch: first event to last.
    pub parallel_branches: Vec<Duration>,
    /// Each Map iteration: started to succeeded (or failed).
    pub map_iterations: Vec<Duration>,
    /// Client wall time from StartExecution to the end being seen.
    pub client_latency: Duration,
}

impl ExecutionTrace {
    /// Total task retries.
    pub fn retries(&self) -> u32 {
        self.states.iter().map(|s| s.retries).sum()
    }

    /// Errors caught by a Catch.
    pub fn caught_errors(&self) -> usize {
        self.states.iter().filter(|s| s.caught.is_some()).count()
    }

    /// Time spent recovering from failures (sum over states).
    pub fn recovery(&self) -> Duration {
        self.states.iter().filter_map(|s| s.recovery).sum()
    }

    /// The runs of state `name`.
    pub fn state<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a StateTiming> {
        self.states.iter().filter(move |s| s.name == name)
    }

    /// Records the trace on `ctx` (see the [module docs](self)).
    pub fn record(&self, ctx: &Ctx) {
        ctx.record_duration("execution", self.total);
        for s in &self.states {
            ctx.record_duration(intern(&format!("state:{}", s.name)), s.duration);
            if let Some(r) = s.recovery {
                ctx.record_duration("recovery", r);
            }
        }
        for t in &self.transitions {
            ctx.record_duration("transition", t.gap);
        }
        for d in &self.parallel_branches {
            ctx.record_duration("parallel_branch", *d);
        }
        for d in &self.map_iterations {
            ctx.record_duration("map_iteration", *d);
        }
        ctx.count("retries", u64::from(self.retries()));
        ctx.count("caught_errors", self.caught_errors() as u64);
    }
}

impl Workflow {
    /// A state machine reached through `client`.
    pub fn new(client: Client, state_machine_arn: impl Into<String>) -> Workflow {
        Workflow {
            client,
            arn: state_machine_arn.into(),
        }
    }

    /// A state machine reached through a measurement client (one attempt
    /// per call).
    pub async fn connect(state_machine_arn: impl Into<String>, tuning: &HttpTuning) -> Workflow {
        Workflow::new(
            Client::new(&super::sdk_config(tuning).await),
            state_machine_arn,
        )
    }

    /// The state machine's ARN.
    pub fn arn(&self) -> &str {
        &self.arn
    }

    /// The client.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Runs one execution as an iteration's work and records its trace on
    /// `ctx` (or its error class).
    pub async fn run(&self, ctx: &Ctx, input: &str) -> Result<ExecutionTrace, ExecutionError> {
        match self.execute(input, None).await {
            Ok(trace) => {
                trace.record(ctx);
                Ok(trace)
            }
            Err(e) => {
                if let ExecutionError::Failed { trace, .. } = &e {
                    trace.record(ctx);
                }
                ctx.error_class(e.class());
                Err(e)
            }
        }
    }

    /// Starts a standard execution, polls `DescribeExecution` (from 50 ms,
    /// doubling to 1 s) until it ends, and reads its history. With
    /// `limit`, an execution still running after it is stopped
    /// (`StopExecution`) and reported as timed out.
    pub async fn execute(
        &self,
        input: &str,
        limit: Option<Duration>,
    ) -> Result<ExecutionTrace, ExecutionError> {
        let start = Instant::now();
        let arn = self
            .client
            .start_execution()
            .state_machine_arn(&self.arn)
            .name(execution_name())
            .input(input)
            .send()
            .await
            .map_err(|e| ExecutionError::api("StartExecution", e))?
            .execution_arn;
        let mut wait = Duration::from_millis(50);
        let described = loop {
            let d = self.describe(&arn).await?;
            if d.status != ExecutionStatus::Running {
                break d;
            }
            if limit.is_some_and(|l| start.elapsed() >= l) {
                self.stop(&arn, "perf-runtime: over the test's limit")
                    .await?;
                return Err(ExecutionError::TimedOut(format!(
                    "{arn} still running after {:?}; stopped",
                    limit.unwrap_or_default()
                )));
            }
            tokio::time::sleep(wait).await;
            wait = (wait * 2).min(Duration::from_secs(1));
        };
        let client_latency = start.elapsed();
        let events = self.history(&arn).await?;
        let mut trace = trace(&arn, &events);
        trace.client_latency = client_latency;
        let cause = || {
            format!(
                "{}: {}",
                described.error().unwrap_or("no error"),
                described.cause().unwrap_or("no cause")
            )
        };
        match described.status {
            ExecutionStatus::Succeeded => Ok(trace),
            ExecutionStatus::TimedOut => Err(ExecutionError::TimedOut(cause())),
            ExecutionStatus::Aborted => Err(ExecutionError::Aborted(cause())),
            _ => Err(ExecutionError::Failed {
                cause: cause(),
                trace: Box::new(trace),
            }),
        }
    }

    /// Stops an execution, and returns once it no longer reads `RUNNING`.
    ///
    /// AWS reports `ABORTED` as soon as `StopExecution` returns; the local
    /// emulator (moto) signals the execution's thread, which records the
    /// stop when it wakes, so a look right after the call can still see
    /// `RUNNING`. This waits up to 10 s for the stop to show (one extra
    /// `DescribeExecution` on AWS) and is an error if it never does.
    pub async fn stop(&self, execution_arn: &str, cause: &str) -> Result<(), ExecutionError> {
        const CONFIRM: Duration = Duration::from_secs(10);
        self.client
            .stop_execution()
            .execution_arn(execution_arn)
            .cause(cause)
            .send()
            .await
            .map_err(|e| ExecutionError::api("StopExecution", e))?;
        let deadline = Instant::now() + CONFIRM;
        loop {
            if self.describe(execution_arn).await?.status != ExecutionStatus::Running {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(ExecutionError::Api(format!(
                    "StopExecution: {execution_arn} still RUNNING {CONFIRM:?} after it was stopped"
                )));
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    async fn describe(
        &self,
        execution_arn: &str,
    ) -> Result<aws_sdk_sfn::operation::describe_execution::DescribeExecutionOutput, ExecutionError>
    {
        self.client
            .describe_execution()
            .execution_arn(execution_arn)
            .send()
            .await
            .map_err(|e| ExecutionError::api("DescribeExecution", e))
    }

    /// Stops every execution of this state machine still running (so a
    /// test leaves none behind); returns how many it stopped.
    pub async fn stop_all_running(&self) -> Result<usize, ExecutionError> {
        let mut pages = self
            .client
            .list_executions()
            .state_machine_arn(&self.arn)
            .status_filter(ExecutionStatus::Running)
            .into_paginator()
            .send();
        let mut running = Vec::new();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| ExecutionError::api("ListExecutions", e))?;
            running.extend(page.executions.into_iter().map(|e| e.execution_arn));
        }
        for arn in &running {
            self.stop(arn, "perf-runtime: test finished").await?;
        }
        Ok(running.len())
    }

    /// The whole history of an execution (every page).
    pub async fn history(&self, execution_arn: &str) -> Result<Vec<HistoryEvent>, ExecutionError> {
        let mut pages = self
            .client
            .get_execution_history()
            .execution_arn(execution_arn)
            .max_results(1000)
            .into_paginator()
            .send();
        let mut events = Vec::new();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| ExecutionError::api("GetExecutionHistory", e))?;
            events.extend(page.events);
        }
        Ok(events)
    }
}

impl Workflow {
    /// Runs one **express** execution as an iteration's work
    /// (`StartSyncExecution`) and records it on `ctx`: `execution` (the
    /// service's start to stop), `billed_duration` and the value
    /// `billed_memory_mb`. Express executions keep no history, so there
    /// are no state timings; trace a standard copy of the machine for those.
    pub async fn run_express(&self, ctx: &Ctx, input: &str) -> Result<ExpressRun, ExecutionError> {
        let run = self.execute_express(input).await;
        match &run {
            Ok(r) => r.record(ctx),
            Err(e) => {
                if let ExecutionError::Failed { trace, .. } = e {
                    trace.record(ctx);
                }
                ctx.error_class(e.class());
            }
        }
        run
    }

    /// Runs one express execution synchronously (`StartSyncExecution`).
    ///
    /// The SDK sends this call to the host `sync-<endpoint>`. Against a
    /// custom endpoint (`AWS_ENDPOINT_URL*`, e.g. the local stack) that
    /// host does not exist, so the prefix is left off there, as other
    /// SDKs' `disableHostPrefix` options do; against AWS it is kept.
    pub async fn execute_express(&self, input: &str) -> Result<ExpressRun, ExecutionError> {
        let start = Instant::now();
        let out = self
            .client
            .start_sync_execution()
            .state_machine_arn(&self.arn)
            .name(execution_name())
            .input(input)
            .customize()
            .interceptor(NoHostPrefixOnCustomEndpoint)
            .send()
            .await
            .map_err(|e| ExecutionError::api("StartSyncExecution", e))?;
        let client_latency = start.elapsed();
        let total = span(out.start_date.as_nanos(), out.stop_date.as_nanos());
        let billing = out.billing_details.as_ref();
        let run = ExpressRun {
            execution_arn: out.execution_arn.clone(),
            status: out.status.as_str().to_owned(),
            total,
            client_latency,
            billed_duration: billing
                .map(|b| Duration::from_millis(b.billed_duration_in_milliseconds.max(0) as u64)),
            billed_memory_mb: billing.map(|b| b.billed_memory_used_in_mb.max(0) as u64),
            output: out.output.clone(),
        };
        let cause = || {
            format!(
                "{}: {}",
                out.error().unwrap_or("no error"),
                out.cause().unwrap_or("no cause")
            )
        };
        match out.status {
            aws_sdk_sfn::types::SyncExecutionStatus::Succeeded => Ok(run),
            aws_sdk_sfn::types::SyncExecutionStatus::TimedOut => {
                Err(ExecutionError::TimedOut(cause()))
            }
            _ => Err(ExecutionError::Failed {
                cause: cause(),
                trace: Box::new(ExecutionTrace {
                    execution_arn: run.execution_arn,
                    status: run.status,
                    total,
                    states: Vec::new(),
                    transitions: Vec::new(),
                    parallel_branches: Vec::new(),
                    map_iterations: Vec::new(),
                    client_latency,
                }),
            }),
        }
    }
}

/// One express execution, as `StartSyncExecution` reports it.
#[derive(Debug, Clone, PartialEq)]
pub struct ExpressRun {
    /// The execution's ARN.
    pub execution_arn: String,
    /// `SUCCEEDED`, `FAILED` or `TIMED_OUT`.
    pub status: String,
    /// The service's start to stop.
    pub total: Duration,
    /// Client wall time of the call.
    pub client_latency: Duration,
    /// Billed duration (AWS rounds express durations up to the next 100 ms).
    pub billed_duration: Option<Duration>,
    /// Billed memory, MB.
    pub billed_memory_mb: Option<u64>,
    /// The execution's output (JSON).
    pub output: Option<String>,
}

impl ExpressRun {
    /// Records the run on `ctx`: `execution`, `billed_duration`,
    /// `billed_memory_mb`.
    pub fn record(&self, ctx: &Ctx) {
        ctx.record_duration("execution", self.total);
        if let Some(d) = self.billed_duration {
            ctx.record_duration("billed_duration", d);
        }
        if let Some(mb) = self.billed_memory_mb {
            ctx.record("billed_memory_mb", mb as f64);
        }
    }
}

/// Leaves the `sync-` host prefix off when the endpoint is a custom one
/// (`AWS_ENDPOINT_URL*` or the client's `endpoint_url`), where the prefixed
/// host does not exist.
#[derive(Debug)]
struct NoHostPrefixOnCustomEndpoint;

impl aws_sdk_sfn::config::Intercept for NoHostPrefixOnCustomEndpoint {
    fn name(&self) -> &'static str {
        "NoHostPrefixOnCustomEndpoint"
    }

    fn modify_before_retry_loop(
        &self,
        _context: &mut aws_sdk_sfn::config::interceptors::BeforeTransmitInterceptorContextMut<'_>,
        _runtime_components: &aws_sdk_sfn::config::RuntimeComponents,
        cfg: &mut aws_sdk_sfn::config::ConfigBag,
    ) -> Result<(), aws_smithy_runtime_api::box_error::BoxError> {
        if cfg
            .load::<aws_types::endpoint_config::EndpointUrl>()
            .is_some()
        {
            cfg.interceptor_state()
                .unset::<aws_smithy_runtime_api::client::endpoint::EndpointPrefix>();
        }
        Ok(())
    }
}

/// A unique execution name (the service would pick one, but not every
/// emulator does): `perf-<pid>-<nanos>-<n>`.
pub fn execution_name() -> String {
    use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
    static N: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .subsec_nanos();
    format!(
        "perf-{}-{nanos}-{}",
        std::process::id(),
        N.fetch_add(1, Relaxed)
    )
}
