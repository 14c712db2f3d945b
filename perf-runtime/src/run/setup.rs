//! State around a test's load: a setup that runs once before it, untimed,
//! on the test's own runtime (a server spawned there lives for the whole
//! run); state for each worker, made before the worker's first iteration;
//! and a teardown after the last run, whatever the verdict. k6's
//! `setup()`/`teardown()` and per-VU init code, Gatling's `before`/`after`.
//!
//! ```no_run
//! use std::sync::Arc;
//! use perf_runtime::PerfTest;
//!
//! struct Server { port: u16 }
//! struct Client { base: String }
//!
//! let report = PerfTest::new("svc::get")
//!     .workers(4)
//!     .setup(|| async { Server { port: 8080 } })
//!     .teardown(|_server| async {})
//!     .per_worker(|_worker, server: Arc<Server>| async move {
//!         Client { base: format!("http://127.0.0.1:{}", server.port) }
//!     })
//!     .run(|_ctx, _server, client: Arc<Client>| async move {
//!         let _ = &client.base;
//!         Ok::<(), std::io::Error>(())
//!     })
//!     .unwrap();
//! report.assert_passed();
//! ```

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use crate::model::error::Error;
use crate::model::outcome::IntoOutcome;
use crate::model::report::Report;
use crate::run::builder::PerfTest;
use crate::run::ctx::Ctx;

/// A boxed, sendable future.
pub(crate) type Boxed<T> = Pin<Box<dyn Future<Output = T> + Send>>;

/// The setup: made once.
pub(crate) type Setup<S> = Box<dyn FnOnce() -> Boxed<S> + Send>;

/// A worker's state, from the worker's index and the setup's state.
pub(crate) type PerWorker<S, W> = Arc<dyn Fn(usize, Arc<S>) -> Boxed<W> + Send + Sync>;

/// The teardown, given the setup's state.
pub(crate) type Teardown<S> = Option<Box<dyn FnOnce(Arc<S>) -> Boxed<()> + Send>>;

/// What runs around the load: the parts of [`WithSetup`] and
/// [`WithWorkers`].
pub(crate) struct Stages<S, W> {
    pub(crate) setup: Setup<S>,
    pub(crate) per_worker: PerWorker<S, W>,
    pub(crate) teardown: Teardown<S>,
}

impl Stages<(), ()> {
    /// Nothing around the load.
    pub(crate) fn none() -> Self {
        Stages {
            setup: Box::new(|| Box::pin(async {})),
            per_worker: Arc::new(|_, _| Box::pin(async {})),
            teardown: None,
        }
    }
}

impl<S: Send + Sync + 'static, W: Send + Sync + 'static> Stages<S, W> {
    /// Runs the setup, then every worker's state (`workers` of them, in
    /// parallel), on the current runtime.
    pub(crate) async fn prepare(
        setup: Setup<S>,
        per_worker: &PerWorker<S, W>,
        workers: usize,
    ) -> (Arc<S>, Arc<[Arc<W>]>) {
        let state = Arc::new(setup().await);
        let mut set = tokio::task::JoinSet::new();
        for worker in 0..workers {
            let made = (per_worker)(worker, state.clone());
            set.spawn(async move { (worker, made.await) });
        }
        let mut made: Vec<(usize, Arc<W>)> = Vec::with_capacity(workers);
        while let Some(done) = set.join_next().await {
            match done {
                Ok((worker, w)) => made.push((worker, Arc::new(w))),
                Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
                Err(e) => panic!("a worker's state was not made: {e}"),
            }
        }
        made.sort_by_key(|(worker, _)| *worker);
        let workers: Vec<Arc<W>> = made.into_iter().map(|(_, w)| w).collect();
        (state, workers.into())
    }
}

impl PerfTest {
    /// Runs `setup` once before the load, untimed, on the test's runtime;
    /// every iteration gets its result (`Arc<S>`). A panic in it fails
    /// the test before any load.
    pub fn setup<S, F, Fut>(self, setup: F) -> WithSetup<S>
    where
        S: Send + Sync + 'static,
        F: FnOnce() -> Fut + Send + 'static,
        Fut: Future<Output = S> + Send + 'static,
    {
        WithSetup {
            test: self,
            setup: Box::new(move || Box::pin(setup())),
            teardown: None,
        }
    }
}

/// A [`PerfTest`] with a setup: its iterations take the state.
#[must_use = "a PerfTest does nothing until `run` is called"]
pub struct WithSetup<S> {
    test: PerfTest,
    setup: Setup<S>,
    teardown: Teardown<S>,
}

impl<S: Send + Sync + 'static> WithSetup<S> {
    /// Runs `teardown` after the last run (also when the test is about to
    /// fail; not when the run left iterations stuck on blocked threads).
    pub fn teardown<F, Fut>(mut self, teardown: F) -> Self
    where
        F: FnOnce(Arc<S>) -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.teardown = Some(Box::new(move |s| Box::pin(teardown(s))));
        self
    }

    /// State for each worker (a client, a connection), made by `init` for
    /// every worker before the load starts, untimed; each iteration gets
    /// its worker's (`Arc<W>`).
    pub fn per_worker<W, F, Fut>(self, init: F) -> WithWorkers<S, W>
    where
        W: Send + Sync + 'static,
        F: Fn(usize, Arc<S>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = W> + Send + 'static,
    {
        WithWorkers {
            test: self.test,
            stages: Stages {
                setup: self.setup,
                per_worker: Arc::new(move |w, s| Box::pin(init(w, s))),
                teardown: self.teardown,
            },
        }
    }

    /// Like [`PerfTest::run`], each iteration given the setup's state.
    pub fn run<F, Fut>(self, f: F) -> Result<Report, Error>
    where
        F: Fn(Ctx, Arc<S>) -> Fut + Send + Sync + 'static,
        Fut: Future + Send + 'static,
        Fut::Output: IntoOutcome,
    {
        self.per_worker(|_, _| async {})
            .run(move |ctx, state, _: Arc<()>| f(ctx, state))
    }

    /// Like [`PerfTest::run_async`], each iteration given the setup's state.
    pub async fn run_async<F, Fut>(self, f: F) -> Result<Report, Error>
    where
        F: Fn(Ctx, Arc<S>) -> Fut + Send + Sync + 'static,
        Fut: Future + Send + 'static,
        Fut::Output: IntoOutcome,
    {
        self.per_worker(|_, _| async {})
            .run_async(move |ctx, state, _: Arc<()>| f(ctx, state))
            .await
    }
}

/// A [`PerfTest`] with a setup and state per worker.
#[must_use = "a PerfTest does nothing until `run` is called"]
pub struct WithWorkers<S, W> {
    test: PerfTest,
    stages: Stages<S, W>,
}

impl<S: Send + Sync + 'static, W: Send + Sync + 'static> WithWorkers<S, W> {
    /// Like [`WithSetup::teardown`].
    pub fn teardown<F, Fut>(mut self, teardown: F) -> Self
    where
        F: FnOnce(Arc<S>) -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.stages.teardown = Some(Box::new(move |s| Box::pin(teardown(s))));
        self
    }

    /// Like [`PerfTest::run`], each iteration given the setup's state and
    /// its worker's.
    pub fn run<F, Fut>(self, f: F) -> Result<Report, Error>
    where
        F: Fn(Ctx, Arc<S>, Arc<W>) -> Fut + Send + Sync + 'static,
        Fut: Future + Send + 'static,
        Fut::Output: IntoOutcome,
    {
        self.test.run_staged(self.stages, f)
    }

    /// Like [`PerfTest::run_async`], each iteration given the setup's
    /// state and its worker's.
    pub async fn run_async<F, Fut>(self, f: F) -> Result<Report, Error>
    where
        F: Fn(Ctx, Arc<S>, Arc<W>) -> Fut + Send + Sync + 'static,
        Fut: Future + Send + 'static,
        Fut::Output: IntoOutcome,
    {
        self.test.run_async_staged(self.stages, f, None).await
    }
}
