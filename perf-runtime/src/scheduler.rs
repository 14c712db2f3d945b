//! The closed-model scheduler: `workers` long-lived tasks pull iterations
//! until the run's stop rule says enough.
//!
//! Workers claim iteration indices from one shared counter in blocks, so
//! two workers on two cores do not fight over one cache line every
//! iteration; the block is small enough (at most 1/16 of a worker's share)
//! that the last blocks do not leave one worker running alone for long.

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use tokio::task::JoinSet;

use crate::builder::{LoadShape, Stop, Warmup};
use crate::outcome::IntoOutcome;
use crate::panics::{catch_panics, catching, install_hook};
use crate::recorder::{ErrorKind, Recorded, Shared, WorkerRecorder};
use crate::Ctx;

/// What a run measured.
pub(crate) struct Measured {
    pub(crate) started_at: SystemTime,
    pub(crate) warmup: Option<Recorded>,
    pub(crate) main: Recorded,
    pub(crate) elapsed: Duration,
    pub(crate) timed_out: bool,
}

/// One phase (warm-up or measured): who runs, until when.
struct Phase {
    workers: usize,
    stop: Stop,
    iteration_timeout: Option<Duration>,
    warmup: bool,
}

/// Hands out iteration indices in blocks.
struct Claims {
    next: AtomicU64,
    limit: Option<u64>,
    block: u64,
}

impl Claims {
    fn new(phase: &Phase) -> Self {
        let (limit, block) = match phase.stop {
            Stop::Repeat(n) => (Some(n), (n / (phase.workers as u64 * 16)).clamp(1, 256)),
            Stop::Duration(_) => (None, 64),
        };
        Claims {
            next: AtomicU64::new(0),
            limit,
            block,
        }
    }

    /// The next block of indices, or `None` when the run's count is used up.
    fn claim(&self) -> Option<(u64, u64)> {
        let start = self.next.fetch_add(self.block, Relaxed);
        match self.limit {
            Some(limit) if start >= limit => None,
            Some(limit) => Some((start, (start + self.block).min(limit))),
            None => Some((start, start + self.block)),
        }
    }
}

/// Runs warm-up and measured phases of `f` on the current runtime.
pub(crate) async fn execute<F, Fut>(load: &LoadShape, f: F) -> Measured
where
    F: Fn(Ctx) -> Fut + Send + Sync + 'static,
    Fut: Future + Send + 'static,
    Fut::Output: IntoOutcome,
{
    install_hook();
    let f = Arc::new(f);
    let deadline = load.timeout.map(|t| Instant::now() + t);
    let mut timed_out = false;
    let warmup = match load.warmup {
        None => None,
        Some(w) => {
            let stop = match w {
                Warmup::Iterations(n) => Stop::Repeat(n),
                Warmup::Time(d) => Stop::Duration(d),
            };
            let phase = Phase {
                workers: load.workers,
                stop,
                iteration_timeout: load.iteration_timeout,
                warmup: true,
            };
            let shared = Shared::new(load.workers);
            timed_out = run_phase(&phase, &f, &shared, deadline).await;
            Some(shared.collect())
        }
    };
    let started_at = SystemTime::now();
    let shared = Shared::new(load.workers);
    let start = Instant::now();
    if !timed_out {
        let phase = Phase {
            workers: load.workers,
            stop: load.stop,
            iteration_timeout: load.iteration_timeout,
            warmup: false,
        };
        timed_out = run_phase(&phase, &f, &shared, deadline).await;
    }
    let elapsed = start.elapsed();
    Measured {
        started_at,
        warmup,
        main: shared.collect(),
        elapsed,
        timed_out,
    }
}

/// Runs one phase to its end or to `deadline`; `true` if the deadline hit.
async fn run_phase<F, Fut>(
    phase: &Phase,
    f: &Arc<F>,
    shared: &Arc<Shared>,
    deadline: Option<Instant>,
) -> bool
where
    F: Fn(Ctx) -> Fut + Send + Sync + 'static,
    Fut: Future + Send + 'static,
    Fut::Output: IntoOutcome,
{
    let claims = Arc::new(Claims::new(phase));
    let stop_at = match phase.stop {
        Stop::Duration(d) => Some(Instant::now() + d),
        Stop::Repeat(_) => None,
    };
    let mut set = JoinSet::new();
    for worker in 0..phase.workers {
        let (f, claims, recorder) = (
            f.clone(),
            claims.clone(),
            WorkerRecorder::new(shared.clone(), worker),
        );
        let (workers, warmup, iteration_timeout) =
            (phase.workers, phase.warmup, phase.iteration_timeout);
        set.spawn(async move {
            let mut recorder = recorder;
            while let Some((first, end)) = claims.claim() {
                for iteration in first..end {
                    let ctx = Ctx {
                        worker,
                        workers,
                        iteration,
                        warmup,
                    };
                    let start = Instant::now();
                    let outcome = run_one(&*f, ctx, iteration_timeout).await;
                    let now = Instant::now();
                    let nanos = now.saturating_duration_since(start).as_nanos() as u64;
                    match outcome {
                        Ok(()) => recorder.record(nanos),
                        Err((kind, message)) => {
                            recorder.record_error(nanos, iteration, kind, message)
                        }
                    }
                    if stop_at.is_some_and(|s| now >= s) {
                        return;
                    }
                }
            }
        });
    }
    let join_all = async {
        while let Some(result) = set.join_next().await {
            if let Err(e) = result {
                if e.is_panic() {
                    // Iteration panics are caught inside; this is a bug of ours.
                    std::panic::resume_unwind(e.into_panic());
                }
            }
        }
    };
    let timed_out = match deadline {
        None => {
            join_all.await;
            false
        }
        Some(d) => tokio::time::timeout_at(d.into(), join_all).await.is_err(),
    };
    if timed_out {
        // Aborted workers drop their recorders, which flush what they hold.
        set.abort_all();
        while set.join_next().await.is_some() {}
    }
    timed_out
}

/// Runs one iteration: `Err((kind, message))` if it failed.
async fn run_one<F, Fut>(
    f: &F,
    ctx: Ctx,
    timeout: Option<Duration>,
) -> Result<(), (ErrorKind, String)>
where
    F: Fn(Ctx) -> Fut,
    Fut: Future,
    Fut::Output: IntoOutcome,
{
    let fut = catching(|| f(ctx)).map_err(|m| (ErrorKind::Panic, m))?;
    let result = match timeout {
        None => catch_panics(fut).await,
        Some(limit) => match tokio::time::timeout(limit, catch_panics(fut)).await {
            Ok(r) => r,
            Err(_) => {
                let message = format!(
                    "iteration cancelled after iteration_timeout ({})",
                    perf_spec::format_duration(limit)
                );
                return Err((ErrorKind::Timeout, message));
            }
        },
    };
    match result {
        Ok(output) => output.into_outcome().map_err(|m| (ErrorKind::Error, m)),
        Err(panic) => Err((ErrorKind::Panic, panic)),
    }
}
