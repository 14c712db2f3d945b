//! Scenarios: several load shapes of one test at the same time (see
//! [`Scenarios`]).

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use tokio::sync::watch;

use crate::io::exclusive::Turn;
use crate::model::error::Error;
use crate::model::outcome::IntoOutcome;
use crate::model::report::Report;
use crate::model::scenarios::ScenariosReport;
use crate::run::builder::PerfTest;
use crate::run::ctx::Ctx;
use crate::run::setup::{Boxed, Setup, Stages, Teardown};

/// Several named load shapes in one test, at the same time, each with its
/// own figures and thresholds: k6's scenarios, Gatling's populations.
/// Browse at 200 arrivals/s while checkout runs 20 workers:
///
/// ```no_run
/// use std::sync::Arc;
/// use std::time::Duration;
/// use perf_runtime::{PerfTest, Scenarios, Threshold};
///
/// struct Shop { base: String }
///
/// let report = Scenarios::with_setup("shop", || async {
///         Shop { base: "http://127.0.0.1:8080".into() }
///     })
///     .scenario(
///         PerfTest::new("browse")
///             .rate(200.0)
///             .duration(Duration::from_secs(30))
///             .threshold(Threshold::p(95.0).lt(Duration::from_millis(100))),
///         |_ctx, shop: Arc<Shop>| async move { let _ = &shop.base; },
///     )
///     .scenario(
///         PerfTest::new("checkout")
///             .workers(20)
///             .duration(Duration::from_secs(30))
///             .threshold(Threshold::p(95.0).lt(Duration::from_millis(300))),
///         |_ctx, _shop| async move { Ok::<(), std::io::Error>(()) },
///     )
///     .run()
///     .unwrap();
/// report.assert_passed();
/// ```
///
/// The group runs on one runtime of its own and takes one turn among perf
/// tests (its scenarios do not wait for each other: they are meant to
/// overlap). The group's setup runs first, untimed; then each scenario's
/// own preparation (its per-worker state); the load of every scenario
/// starts when all are ready; the group's teardown runs after the last.
/// Each scenario is a [`PerfTest`] of its own, named `<group>::<name>`:
/// its summary, report file, baseline and verdict are its own.
#[must_use = "Scenarios do nothing until `run` is called"]
pub struct Scenarios<S = ()> {
    name: String,
    setup: Setup<S>,
    teardown: Teardown<S>,
    scenarios: Vec<(String, ScenarioRun<S>)>,
    exclusive: Option<bool>,
}

/// How one scenario runs, given the group's state: a boxed closure over
/// its test and body.
type ScenarioRun<S> = Box<dyn FnOnce(Arc<S>, Beside) -> Boxed<Result<Report, Error>> + Send>;

impl Scenarios<()> {
    /// A group named `name`, without shared state.
    pub fn new(name: impl Into<String>) -> Self {
        Scenarios::with_setup(name, || async {})
    }
}

impl<S: Send + Sync + 'static> Scenarios<S> {
    /// A group whose `setup` runs once, untimed, on the group's runtime
    /// before any scenario (a server spawned there lives for the whole
    /// run); every iteration of every scenario gets its result.
    pub fn with_setup<F, Fut>(name: impl Into<String>, setup: F) -> Self
    where
        F: FnOnce() -> Fut + Send + 'static,
        Fut: Future<Output = S> + Send + 'static,
    {
        Scenarios {
            name: name.into(),
            setup: Box::new(move || Box::pin(setup())),
            teardown: None,
            scenarios: Vec::new(),
            exclusive: None,
        }
    }

    /// Runs `teardown` after the last scenario, whatever the verdicts.
    pub fn teardown<F, Fut>(mut self, teardown: F) -> Self
    where
        F: FnOnce(Arc<S>) -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.teardown = Some(Box::new(move |s| Box::pin(teardown(s))));
        self
    }

    /// `exclusive = false`: the group runs beside other perf tests
    /// instead of taking turns with them (`PERF_EXCLUSIVE` overrides it).
    pub fn exclusive(mut self, exclusive: bool) -> Self {
        self.exclusive = Some(exclusive);
        self
    }

    /// Adds a scenario: `test`'s load shape and thresholds (its name is
    /// the scenario's), each iteration `f` given the group's state.
    pub fn scenario<F, Fut>(self, test: PerfTest, f: F) -> Self
    where
        F: Fn(Ctx, Arc<S>) -> Fut + Send + Sync + 'static,
        Fut: Future + Send + 'static,
        Fut::Output: IntoOutcome,
    {
        self.scenario_per_worker(test, |_, _| async {}, move |ctx, s, _: Arc<()>| f(ctx, s))
    }

    /// Adds a scenario with state for each of its workers (a client, a
    /// connection), made by `init` before the load starts, untimed.
    pub fn scenario_per_worker<W, I, IFut, F, Fut>(mut self, test: PerfTest, init: I, f: F) -> Self
    where
        W: Send + Sync + 'static,
        I: Fn(usize, Arc<S>) -> IFut + Send + Sync + 'static,
        IFut: Future<Output = W> + Send + 'static,
        F: Fn(Ctx, Arc<S>, Arc<W>) -> Fut + Send + Sync + 'static,
        Fut: Future + Send + 'static,
        Fut::Output: IntoOutcome,
    {
        let scenario = test.name.clone();
        let mut test = test;
        test.name = format!("{}::{}", self.name, test.name);
        let run = move |state: Arc<S>, beside: Beside| -> Boxed<Result<Report, Error>> {
            // The scenario's state is the group's (already made).
            let stages = Stages {
                setup: Box::new(move || Box::pin(async move { state })),
                per_worker: Arc::new(move |w, s: Arc<Arc<S>>| -> Boxed<W> {
                    Box::pin(init(w, Arc::clone(&s)))
                }),
                teardown: None,
            };
            let f = move |ctx, s: Arc<Arc<S>>, w| f(ctx, Arc::clone(&s), w);
            Box::pin(test.run_async_staged(stages, f, Some(beside)))
        };
        self.scenarios.push((scenario, Box::new(run)));
        self
    }

    /// Runs every scenario on a tokio runtime of the group's own (one
    /// thread per CPU) and returns their reports, after printing each
    /// scenario's summary and the group's.
    pub fn run(self) -> Result<ScenariosReport, Error> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .thread_name("perf-worker")
            .enable_all()
            .build()
            .map_err(Error::Runtime)?;
        runtime.block_on(self.run_async())
    }

    /// Like [`run`](Self::run), on the tokio runtime you are already in.
    pub async fn run_async(self) -> Result<ScenariosReport, Error> {
        if self.scenarios.is_empty() {
            return Err(Error::Config(format!(
                "scenarios `{}`: add at least one with `.scenario(…)`",
                self.name
            )));
        }
        for (i, (name, _)) in self.scenarios.iter().enumerate() {
            if self.scenarios[..i].iter().any(|(other, _)| other == name) {
                return Err(Error::Config(format!(
                    "scenarios `{}`: two scenarios are named `{name}`; each needs a name of its own (it names its report)",
                    self.name
                )));
            }
        }
        let mut group = PerfTest::new(self.name.clone());
        group.exclusive = self.exclusive;
        let waiting = crate::io::exclusive::Waiting::new(&self.name, None);
        let turn = Arc::new(Turn::take(group.takes_turns(false)?, waiting).await?);
        let state = Arc::new((self.setup)().await);
        let line = StartLine::new(self.scenarios.len());
        let started = Instant::now();
        let runs: Vec<_> = self
            .scenarios
            .into_iter()
            .map(|(_, run)| {
                let beside = Beside {
                    turn: Arc::clone(&turn),
                    start_line: line.arrival(),
                };
                tokio::spawn(run(Arc::clone(&state), beside))
            })
            .collect();
        let mut results = Vec::with_capacity(runs.len());
        for run in runs {
            match run.await {
                Ok(result) => results.push(result),
                Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
                Err(e) => panic!("a scenario's run was cancelled: {e}"),
            }
        }
        let elapsed = started.elapsed();
        drop(turn);
        if let Some(teardown) = self.teardown {
            teardown(state).await;
        }
        let scenarios = results.into_iter().collect::<Result<Vec<_>, _>>()?;
        let report = ScenariosReport {
            name: self.name,
            scenarios,
            elapsed,
        };
        crate::print_figures(&report.summary());
        Ok(report)
    }
}

/// What a scenario runs in: the group's turn, and its place at the start
/// line.
pub(crate) struct Beside {
    pub(crate) turn: Arc<Turn>,
    pub(crate) start_line: Arrival,
}

/// Where the scenarios of a group wait for each other before their load.
struct StartLine {
    waiting: Mutex<usize>,
    go: watch::Sender<bool>,
}

impl StartLine {
    fn new(scenarios: usize) -> Arc<StartLine> {
        Arc::new(StartLine {
            waiting: Mutex::new(scenarios),
            go: watch::channel(false).0,
        })
    }

    fn arrival(self: &Arc<Self>) -> Arrival {
        Arrival {
            line: Arc::clone(self),
            arrived: false,
        }
    }
}

/// A scenario's place at the start line. A scenario that ends before its
/// load (a bad setting, a gate) arrives when it is dropped, so the others
/// do not wait for it.
pub(crate) struct Arrival {
    line: Arc<StartLine>,
    arrived: bool,
}

impl Arrival {
    fn arrive(&mut self) {
        if std::mem::replace(&mut self.arrived, true) {
            return;
        }
        let mut waiting = self.line.waiting.lock().unwrap_or_else(|e| e.into_inner());
        *waiting = waiting.saturating_sub(1);
        if *waiting == 0 {
            self.line.go.send_replace(true);
        }
    }

    /// Arrives, then waits until every scenario has (or until `deadline`,
    /// the scenario's timeout: its run then stops at once).
    pub(crate) async fn ready(mut self, deadline: Option<Instant>) {
        let mut go = self.line.go.subscribe();
        self.arrive();
        let all = go.wait_for(|go| *go);
        match deadline {
            Some(at) => {
                let _ = tokio::time::timeout_at(at.into(), all).await;
            }
            None => {
                let _ = all.await;
            }
        }
    }
}

impl Drop for Arrival {
    fn drop(&mut self) {
        self.arrive();
    }
}
