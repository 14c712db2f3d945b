//! Running a perf test's phases: the closed model (workers pull iterations)
//! and the open model (iterations arrive on a schedule; see [`open`]).
//!
//! Closed-model workers claim iteration indices from one shared counter in
//! blocks, so two workers on two cores do not fight over one cache line
//! every iteration; the block is small enough (at most 1/16 of a worker's
//! share) that the last blocks do not leave one worker running alone.

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::task::Poll;
use std::time::{Duration, Instant, SystemTime};

use perf_spec::Stage;
use tokio::task::JoinSet;

use crate::measure::recorder::{Shared, WorkerRecorder};
use crate::measure::scope::{pause, Scope};
use crate::model::load::{Batch, LoadShape, Model, Stop, Warmup};
use crate::model::measured::ErrorKind;
use crate::model::measured::{Measured, StillRunning};
use crate::model::memory::MemoryStats;
use crate::model::outcome::IntoOutcome;
use crate::run::ctx::Ctx;
use crate::run::monitor::Monitor;
use crate::run::monitor::Watching;
use crate::run::panics::{catching, install_hook};
use crate::run::watchdog::{Alarms, Fired, Watch, Watchdog};

mod batch;
mod each;
mod open;
mod ramp;

use batch::{run_batch, Batched, Probe};
pub(crate) use each::{run_each, wait_until};
use ramp::Ramp;

/// How a phase ended early.
pub(crate) struct Stopped {
    why: Fired,
    still: StillRunning,
}

/// The iteration function, shared by all workers.
pub(crate) trait Body: Send + Sync + 'static {
    type Fut: Future<Output = Self::Out> + Send + 'static;
    type Out: IntoOutcome;
    fn call(&self, ctx: Ctx) -> Self::Fut;
}

impl<F, Fut> Body for F
where
    F: Fn(Ctx) -> Fut + Send + Sync + 'static,
    Fut: Future + Send + 'static,
    Fut::Output: IntoOutcome,
{
    type Fut = Fut;
    type Out = Fut::Output;
    fn call(&self, ctx: Ctx) -> Fut {
        self(ctx)
    }
}

/// One closed-model phase (warm-up or measured).
struct ClosedPhase {
    workers: usize,
    stop: Stop,
    ramp: Option<Arc<Ramp>>,
    iteration_timeout: Option<Duration>,
    warmup: bool,
    shard: Option<crate::model::shard::Shard>,
    /// Whether samples may cover several iterations, and what a clock
    /// read costs (see [`Batch`]).
    batch: Batch,
    clock_ns: f64,
}

impl ClosedPhase {
    /// Iterations per sample from the start (`Fixed`), or `None` when the
    /// first samples decide (`Auto`) or nothing is batched.
    fn batching(&self) -> Option<Probe> {
        let eligible = !self.warmup && self.ramp.is_none() && self.iteration_timeout.is_none();
        match self.batch {
            Batch::Off => None,
            _ if !eligible => None,
            batch => Some(Probe::new(batch, self.clock_ns)),
        }
    }
}

/// Hands out iteration indices in blocks.
struct Claims {
    next: AtomicU64,
    limit: Option<u64>,
    block: u64,
}

impl Claims {
    fn new(phase: &ClosedPhase) -> Self {
        let (limit, block) = match phase.stop {
            Stop::Repeat(n) => (Some(n), (n / (phase.workers as u64 * 16)).clamp(1, 256)),
            Stop::Duration(_) => (None, if phase.ramp.is_some() { 1 } else { 64 }),
        };
        Claims {
            next: AtomicU64::new(0),
            limit,
            block,
        }
    }

    /// The next block of indices, at least `want` of them unless the
    /// run's count ends first; `None` when it is used up.
    fn claim(&self, want: u64) -> Option<(u64, u64)> {
        let block = self.block.max(want);
        let start = self.next.fetch_add(block, Relaxed);
        match self.limit {
            Some(limit) if start >= limit => None,
            Some(limit) => Some((start, (start + block).min(limit))),
            None => Some((start, start + block)),
        }
    }
}

/// Runs warm-up and measured phases of `f` on the current runtime.
///
/// `deadline` is when the whole-run `timeout` expires, counted from when
/// the test began (a wait for a common start is inside it).
pub(crate) async fn execute<B: Body>(
    load: &LoadShape,
    watching: Watching,
    scope: Option<&'static Scope>,
    deadline: Option<Instant>,
    f: B,
) -> Measured {
    let f = {
        let _paused = pause();
        install_hook();
        Arc::new(f)
    };
    let name = {
        // Bookkeeping, not the test's allocation.
        let _paused = pause();
        watching.name.clone()
    };
    let watch = |shared: &Arc<Shared>| {
        let _paused = pause();
        Watchdog::start(Watch {
            name: name.clone(),
            deadline,
            iteration_timeout: load.iteration_timeout,
            shared: shared.clone(),
        })
    };
    // What a clock read costs, for batching tiny bodies (once a process).
    let clock_ns = crate::measure::calibrate::clock_ns();
    // Stopped before it began: the wait for the common start used the
    // whole timeout, or a signal came during it.
    let mut stopped = if deadline.is_some_and(|d| Instant::now() >= d) {
        Some(Fired::Timeout)
    } else if crate::run::signals::interrupted() {
        Some(Fired::Interrupted)
    } else {
        None
    }
    .map(|why| Stopped {
        why,
        still: StillRunning {
            iterations: 0,
            abandoned: 0,
        },
    });
    let pool = load.pool_size();
    let model = load.model();
    let warmup = match load.warmup {
        Some(w) if stopped.is_none() => {
            let shared = {
                let _paused = pause();
                Shared::new(pool, false, None)
            };
            let (dog, alarms) = watch(&shared);
            stopped = match &model {
                // An open-model test warms up at its own rate: a closed
                // loop of the whole pool would flood the system under test.
                Model::Open { start_rate, stages } => {
                    let rate = if *start_rate > 0.0 {
                        *start_rate
                    } else {
                        stages.first().map_or(0.0, |s| s.target)
                    };
                    let length = match w {
                        Warmup::Time(d) => d,
                        Warmup::Iterations(n) if rate > 0.0 => {
                            Duration::from_secs_f64(n as f64 / rate)
                        }
                        Warmup::Iterations(_) => Duration::ZERO,
                    };
                    let arrivals = crate::run::arrival::Arrivals::new(
                        rate,
                        &[Stage {
                            name: None,
                            duration: length,
                            target: rate,
                        }],
                    );
                    let phase = open::Phase {
                        warmup: true,
                        length,
                    };
                    open::run(
                        pool,
                        arrivals,
                        load,
                        phase,
                        &f,
                        &shared,
                        Instant::now(),
                        alarms,
                    )
                    .await
                }
                Model::Closed { .. } => {
                    let stop = match w {
                        Warmup::Iterations(n) => Stop::Repeat(n),
                        Warmup::Time(d) => Stop::Duration(d),
                    };
                    let phase = ClosedPhase {
                        workers: pool,
                        stop,
                        ramp: None,
                        iteration_timeout: load.iteration_timeout,
                        warmup: true,
                        shard: load.shard,
                        batch: Batch::Off,
                        clock_ns,
                    };
                    run_closed(&phase, &f, &shared, alarms).await
                }
            };
            drop(dog);
            Some(shared.collect())
        }
        _ => None,
    };
    let shared = {
        let _paused = pause();
        Shared::new(pool, matches!(model, Model::Open { .. }), scope)
    };
    if stopped.is_none() {
        // The mark's channel block (freed by the sampler) is not the
        // iterations' memory.
        let _paused = pause();
        if let Some(p) = &watching.cpu_profile {
            p.begin();
        }
        if let Some(r) = &watching.resources {
            r.mark();
        }
    }
    let started_at = SystemTime::now();
    let start = Instant::now();
    let mut aborted = None;
    let mut until = None;
    let mut memory_span = None;
    let mut ran_for = None;
    if stopped.is_none() {
        let (dog, alarms) = watch(&shared);
        let monitor = {
            let _paused = pause();
            Monitor::start(watching, load, shared.clone(), start)
        };
        let before = scope.map(|s| {
            s.reset_peak();
            s.totals()
        });
        stopped = match model {
            Model::Closed { stages } => {
                let ramp = (!stages.is_empty()).then(|| {
                    Arc::new(Ramp {
                        start: load.workers as f64,
                        stages: stages.clone(),
                    })
                });
                // Stages set the run's length, whatever `stop` says.
                let stop = load.planned_length().map_or(load.stop, Stop::Duration);
                let phase = ClosedPhase {
                    workers: pool,
                    stop,
                    ramp,
                    iteration_timeout: load.iteration_timeout,
                    warmup: false,
                    shard: load.shard,
                    // Memory figures (leak checkpoints, allocations per
                    // iteration) are taken between iterations: not batched.
                    batch: if scope.is_some() {
                        Batch::Off
                    } else {
                        load.batch
                    },
                    clock_ns,
                };
                run_closed(&phase, &f, &shared, alarms).await
            }
            Model::Open { start_rate, stages } => {
                let arrivals = crate::run::arrival::Arrivals::new(start_rate, &stages);
                let phase = open::Phase {
                    warmup: false,
                    length: perf_spec::stages_duration(&stages),
                };
                open::run(pool, arrivals, load, phase, &f, &shared, start, alarms).await
            }
        };
        // The run's length ends with its last iteration, before the
        // helper threads are joined.
        ran_for = Some(start.elapsed());
        drop(dog);
        memory_span = scope.zip(before).map(|(s, b)| (s, b, s.totals()));
        let watched = monitor.finish();
        (aborted, until) = (watched.aborted, watched.until);
    }
    // An open model that kept its schedule covered all of it: its last
    // arrival is due up to an interval before the end. At 10/s for 1 s,
    // 10 arrivals in 1 s, not in the 0.9 s until the last one ended.
    let ran_for = ran_for.unwrap_or_else(|| start.elapsed());
    let elapsed = match load.model() {
        Model::Open { stages, .. } if stopped.is_none() => {
            ran_for.max(perf_spec::stages_duration(&stages))
        }
        _ => ran_for,
    };
    let main = shared.collect();
    let auto = until.map(|u| {
        let _paused = pause();
        crate::measure::recorder::lock(&u).finish(main.iterations)
    });
    let memory = memory_span.map(|(scope, before, after)| {
        let _paused = pause();
        MemoryStats::of(scope, before, after, main.iterations, &shared.checkpoints())
    });
    let why = stopped.as_ref().map(|s| &s.why);
    let timed_out = matches!(why, Some(Fired::Timeout));
    let interrupted = matches!(why, Some(Fired::Interrupted));
    if let Some(Fired::Blocked(why)) = why {
        aborted = Some(format!(
            "aborted after {}: {why}",
            perf_spec::format_duration(elapsed)
        ));
    }
    Measured {
        warmup,
        timed_out,
        aborted,
        memory,
        interrupted,
        stopped: stopped.map(|s| s.still),
        unscheduled: shared.unscheduled(),
        auto,
        batching: shared.batching(clock_ns),
        ..Measured::of(main, started_at, elapsed)
    }
}

/// Waits for every worker, or until the watchdog fires (timeout, signal,
/// blocked iteration): then stops the workers, waits for them until the
/// watchdog says to abandon the stuck ones, and says what was running.
/// Aborted workers drop their recorders, which flush what they hold.
async fn join_workers(mut set: JoinSet<()>, shared: &Shared, alarms: Alarms) -> Option<Stopped> {
    let Alarms {
        mut fired,
        mut abandon,
    } = alarms;
    let why = {
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
        tokio::select! {
            biased;
            Ok(why) = &mut fired => Some(why),
            () = join_all => None,
        }
    }?;
    let iterations = shared.busy.count();
    shared.stop.store(true, Relaxed);
    set.abort_all();
    let drained = async { while set.join_next().await.is_some() {} };
    let abandoned = tokio::select! {
        () = drained => 0,
        _ = &mut abandon => set.len(),
    };
    // Dropping the set detaches whatever is stuck on a blocked thread.
    drop(set);
    Some(Stopped {
        why,
        still: StillRunning {
            iterations,
            abandoned,
        },
    })
}

async fn run_closed<B: Body>(
    phase: &ClosedPhase,
    f: &Arc<B>,
    shared: &Arc<Shared>,
    alarms: Alarms,
) -> Option<Stopped> {
    // The framework's own allocations are not the iterations'.
    let paused = pause();
    let claims = Arc::new(Claims::new(phase));
    let start = Instant::now();
    let run_for = match phase.stop {
        Stop::Duration(d) => Some(d),
        Stop::Repeat(_) => None,
    };
    let mut set = JoinSet::new();
    for worker in 0..phase.workers {
        let (f, claims, shared, ramp) = (
            f.clone(),
            claims.clone(),
            shared.clone(),
            phase.ramp.clone(),
        );
        let mut recorder = WorkerRecorder::new(shared.clone(), worker);
        let (workers, warmup, iteration_timeout, shard) = (
            phase.workers,
            phase.warmup,
            phase.iteration_timeout,
            phase.shard,
        );
        let notes = crate::measure::notes::Notes::new();
        let my_notes = notes.clone();
        let mut probe = phase.batching();
        set.spawn(crate::run::panics::quiet_panics(
            crate::measure::notes::with_notes(notes, async move {
                // A closed-model worker goes straight from one iteration to
                // the next: its slot is overwritten by the next start and
                // cleared only when it ends (or is aborted), one store per
                // iteration instead of two.
                let _idle_at_exit = IdleAtExit(shared.clone(), worker);
                // The second of the run iterations end in, updated only when a
                // boundary passes (a comparison instead of a division each time).
                let (mut second, mut next_second) = (0u32, start + Duration::from_secs(1));
                // Iterations per sample: 1 until the probe says otherwise.
                let mut batch = 1u64;
                let mut batched = Batched::default();
                let ctx = |iteration| Ctx {
                    worker,
                    workers,
                    iteration,
                    warmup,
                    shard,
                };
                'run: loop {
                    if let Some(ramp) = &ramp {
                        // Inactive until the ramp reaches this worker.
                        let elapsed = start.elapsed();
                        if run_for.is_some_and(|d| elapsed >= d) {
                            return;
                        }
                        if worker >= ramp.active_at(elapsed) {
                            tokio::time::sleep(Duration::from_millis(20)).await;
                            continue;
                        }
                    }
                    let Some((first, end)) = claims.claim(batch) else {
                        return;
                    };
                    let mut iteration = first;
                    while iteration < end {
                        if shared.stop.load(Relaxed) {
                            return;
                        }
                        let now = if batch > 1 {
                            let n = batch.min(end - iteration);
                            shared.busy.start(worker, iteration);
                            let (nanos, now) =
                                run_batch(&*f, (iteration..iteration + n).map(ctx), &mut batched)
                                    .await;
                            if now >= next_second {
                                second = now.saturating_duration_since(start).as_secs() as u32;
                                next_second = start + Duration::from_secs(u64::from(second) + 1);
                            }
                            let failures = &mut batched.failures;
                            if recorder.finish_batch(n, nanos, second, failures, &my_notes) {
                                // A body that notes is timed one by one.
                                batch = 1;
                            }
                            iteration += n;
                            now
                        } else {
                            let mut begin = Instant::now();
                            shared.busy.start(worker, iteration);
                            let outcome =
                                run_one(&*f, ctx(iteration), iteration_timeout, &mut begin).await;
                            let now = Instant::now();
                            let nanos = now.saturating_duration_since(begin).as_nanos() as u64;
                            if now >= next_second {
                                second = now.saturating_duration_since(start).as_secs() as u32;
                                next_second = start + Duration::from_secs(u64::from(second) + 1);
                            }
                            let plain = recorder.finish_iteration(
                                iteration, nanos, nanos, second, outcome, &my_notes,
                            );
                            if let Some(p) = &mut probe {
                                if let Some((k, typical)) = p.observe(nanos, plain) {
                                    recorder.expect_per_iteration(typical);
                                    (batch, probe) = (k, None);
                                }
                            }
                            iteration += 1;
                            now
                        };
                        if run_for.is_some_and(|d| now >= start + d) {
                            return;
                        }
                        if ramp.is_some() {
                            continue 'run;
                        }
                    }
                }
            }),
        ));
    }
    drop(paused);
    join_workers(set, shared, alarms).await
}

/// Marks a closed-model worker idle for the watchdog when its task ends.
struct IdleAtExit(Arc<Shared>, usize);

impl Drop for IdleAtExit {
    fn drop(&mut self) {
        self.0.busy.end(self.1);
    }
}

/// Runs one iteration: `Err((kind, message))` if it failed. Written as one
/// state machine (no nested async fns): it is the per-iteration hot path.
///
/// The body's synchronous part, before its future (a closure's work
/// before its `async` block: the macro clones case arguments there), is
/// preparation: `begin` is set after it, and its allocations are not the
/// iteration's (criterion's `iter_batched` setup).
async fn run_one<B: Body>(
    f: &B,
    ctx: Ctx,
    timeout: Option<Duration>,
    begin: &mut Instant,
) -> Result<(), (ErrorKind, String)> {
    let fut = {
        let _prepare = pause();
        catching(|| f.call(ctx)).map_err(|m| (ErrorKind::Panic, m))?
    };
    *begin = Instant::now();
    let mut fut = std::pin::pin!(fut);
    let guarded = std::future::poll_fn(move |cx| match catching(|| fut.as_mut().poll(cx)) {
        Ok(Poll::Ready(v)) => Poll::Ready(Ok(v)),
        Ok(Poll::Pending) => Poll::Pending,
        Err(message) => Poll::Ready(Err(message)),
    });
    let result = match timeout {
        None => guarded.await,
        Some(limit) => match tokio::time::timeout(limit, guarded).await {
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
        // Turning an `Err` into its message is the framework's work, not the
        // iteration's: not counted in its allocations.
        Ok(output) if output.is_failure() => {
            let _paused = crate::measure::scope::pause();
            output.into_outcome().map_err(|m| (ErrorKind::Error, m))
        }
        Ok(_) => Ok(()),
        Err(panic) => Err((ErrorKind::Panic, panic)),
    }
}
