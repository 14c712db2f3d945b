//! The open model: iterations start on a schedule, whether or not earlier
//! ones have finished.
//!
//! A dispatcher thread (an OS thread, so that a stalled or saturated tokio
//! runtime cannot delay the schedule itself) sleeps until each iteration is
//! due, then hands it to a free worker of the pool through a channel. If no
//! worker is free at that moment the iteration is *dropped* and counted,
//! never silently skipped (k6's constant-arrival-rate semantics).
//!
//! Latency is measured from the *scheduled* start, so time an iteration
//! spent waiting to begin (a busy runtime, a slow wake-up) is counted: this
//! is the coordinated-omission correction of wrk2. Service time, from the
//! actual start, is recorded beside it; the difference is the queueing
//! delay. The dispatcher's own lateness (its sleep overshoots by tens of
//! microseconds) is part of the corrected latency too.
//!
//! A rate beyond what the dispatcher can hand out (millions per second)
//! must not stretch the run: when it falls more than [`MAX_LAG`] behind, it
//! skips to the present and counts the skipped arrivals as *unscheduled*
//! (the load generator could not produce them), not as dropped (which
//! blames a lack of free workers); and it stops at the schedule's end.

use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::task::JoinSet;

use super::{join_workers, run_one, Body, Stopped};
use crate::measure::recorder::{Shared, WorkerRecorder};
use crate::run::arrival::Arrivals;
use crate::run::watchdog::Alarms;
use crate::Ctx;

/// An iteration handed to a worker.
struct Job {
    index: u64,
    due: Instant,
}

/// The dispatcher checks for a stop request at least this often.
const STOP_CHECK: Duration = Duration::from_millis(10);

/// Behind schedule by more than this, the dispatcher is the bottleneck: it
/// skips ahead instead of starting iterations that are already this late.
pub(crate) const MAX_LAG: Duration = Duration::from_millis(100);

/// What kind of open-model phase runs.
pub(super) struct Phase {
    /// A warm-up (iterations see `ctx.is_warmup()`).
    pub(super) warmup: bool,
    /// The schedule's length: no iteration starts after it.
    pub(super) length: Duration,
}

#[allow(clippy::too_many_arguments)]
pub(super) async fn run<B: Body>(
    workers: usize,
    mut arrivals: Arrivals,
    load: &crate::model::load::LoadShape,
    phase: Phase,
    f: &Arc<B>,
    shared: &Arc<Shared>,
    start: Instant,
    alarms: Alarms,
) -> Option<Stopped> {
    // The framework's own allocations are not the iterations'.
    let paused = crate::measure::scope::pause();
    let (tx, rx) = async_channel::unbounded::<Job>();
    // Free workers; a job is sent only after taking one.
    let free = Arc::new(AtomicUsize::new(workers));
    let (iteration_timeout, shard, warmup) = (load.iteration_timeout, load.shard, phase.warmup);
    let mut set = JoinSet::new();
    for worker in 0..workers {
        let (f, rx, free) = (f.clone(), rx.clone(), free.clone());
        let mut recorder = WorkerRecorder::new(shared.clone(), worker);
        let notes = crate::measure::notes::Notes::new();
        let my_notes = notes.clone();
        set.spawn(crate::run::panics::quiet_panics(
            crate::measure::notes::with_notes(notes, async move {
                while let Ok(job) = rx.recv().await {
                    let ctx = Ctx {
                        worker,
                        workers,
                        iteration: job.index,
                        warmup,
                        shard,
                    };
                    let mut begin = Instant::now();
                    recorder.shared().busy.start(worker, job.index);
                    let outcome = run_one(&*f, ctx, iteration_timeout, &mut begin).await;
                    recorder.shared().busy.end(worker);
                    let end = Instant::now();
                    free.fetch_add(1, Relaxed);
                    let latency = end.saturating_duration_since(job.due).as_nanos() as u64;
                    let service = end.saturating_duration_since(begin).as_nanos() as u64;
                    let second = end.saturating_duration_since(start).as_secs() as u32;
                    recorder
                        .finish_iteration(job.index, latency, service, second, outcome, &my_notes);
                    // About to wait for work: hand over what this worker holds,
                    // so that live views (progress, abort_on_fail) are current
                    // even when each worker runs few iterations. Busy workers
                    // keep batching.
                    if rx.is_empty() {
                        recorder.flush();
                    }
                }
            }),
        ));
    }
    drop(rx);
    let dispatcher_shared = shared.clone();
    let dispatcher = std::thread::Builder::new()
        .name("perf-dispatch".into())
        .spawn(move || {
            let end = start + phase.length;
            while let Some((index, offset)) = arrivals.next() {
                let due = start + offset;
                let mut now;
                loop {
                    if dispatcher_shared.stop.load(Relaxed) {
                        return;
                    }
                    now = Instant::now();
                    if now >= due {
                        break;
                    }
                    std::thread::sleep((due - now).min(STOP_CHECK));
                }
                if now >= end + MAX_LAG {
                    // The schedule is over: what is left was never started.
                    dispatcher_shared.record_unscheduled(1 + arrivals.skip_to(Duration::MAX));
                    return;
                }
                if now > due + MAX_LAG {
                    // Fallen behind: this arrival and every other one due by
                    // now are skipped, counted against the generator.
                    let skipped = arrivals.skip_to(now.saturating_duration_since(start));
                    dispatcher_shared.record_unscheduled(1 + skipped);
                    continue;
                }
                let taken = free
                    .fetch_update(Relaxed, Relaxed, |n| n.checked_sub(1))
                    .is_ok();
                if taken {
                    // Unbounded: never blocks; fails only if every worker is gone.
                    if tx.try_send(Job { index, due }).is_err() {
                        return;
                    }
                } else {
                    dispatcher_shared.record_dropped(offset.as_secs() as u32);
                }
            }
            // Dropping `tx` lets the workers finish what they hold and end.
        })
        .expect("spawning the dispatcher thread");
    drop(paused);
    let stopped = join_workers(set, shared, alarms).await;
    // The dispatcher has ended (workers only end once it dropped the
    // channel) or saw the stop flag: joining cannot block for long.
    let _ = tokio::task::spawn_blocking(move || dispatcher.join()).await;
    stopped
}
