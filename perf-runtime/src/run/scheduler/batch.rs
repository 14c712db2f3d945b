//! Timing a closed-model worker's iterations in batches per clock pair,
//! for bodies far below a microsecond (see [`Batch`]): the probe that
//! chooses a worker's batch size from its first samples, and the batch
//! itself.

use std::future::Future;
use std::task::Poll;
use std::time::Instant;

use super::Body;
use crate::measure::scope::pause;
use crate::model::load::Batch;
use crate::model::measured::ErrorKind;
use crate::model::outcome::IntoOutcome;
use crate::run::ctx::Ctx;
use crate::run::panics::catching;

/// Single-iteration samples a worker takes before it chooses its batch.
const PROBE: usize = 8;

/// A worker's first samples, which choose its iterations per sample.
pub(super) struct Probe {
    batch: Batch,
    clock_ns: f64,
    samples: [u64; PROBE],
    seen: usize,
}

impl Probe {
    /// A probe for `batch`, given what a clock read costs here.
    pub(super) fn new(batch: Batch, clock_ns: f64) -> Self {
        Probe {
            batch,
            clock_ns,
            samples: [0; PROBE],
            seen: 0,
        }
    }

    /// Takes one single-iteration sample (`plain`: it noted nothing
    /// through its `Ctx`); returns the batch size and the median sample once decided. A body
    /// that notes is never batched; one that fails is (its failures are
    /// counted one by one).
    pub(super) fn observe(&mut self, nanos: u64, plain: bool) -> Option<(u64, u64)> {
        if !plain {
            return Some((1, 0));
        }
        if let Batch::Fixed(k) = self.batch {
            return Some((k, 0));
        }
        self.samples[self.seen] = nanos;
        self.seen += 1;
        (self.seen == PROBE).then(|| {
            self.samples.sort_unstable();
            let median = self.samples[PROBE / 2];
            (self.batch.size(self.clock_ns, median as f64), median)
        })
    }
}

/// A worker's buffers for batches, reused from one batch to the next.
pub(super) struct Batched<F> {
    futures: Vec<(u64, F)>,
    pub(super) failures: Vec<(u64, (ErrorKind, String))>,
}

impl<F> Default for Batched<F> {
    fn default() -> Self {
        Batched {
            futures: Vec::new(),
            failures: Vec::new(),
        }
    }
}

/// Runs a batch of iterations between one pair of clock reads: every
/// body's synchronous part first (untimed, as for one iteration), then
/// their futures one after the other. Failed iterations go to
/// `failures`. Returns the batch's nanoseconds and when it ended.
pub(super) async fn run_batch<B: Body>(
    f: &B,
    ctxs: impl Iterator<Item = Ctx>,
    buffers: &mut Batched<B::Fut>,
) -> (u64, Instant) {
    {
        let _prepare = pause();
        for ctx in ctxs {
            let iteration = ctx.iteration;
            match catching(|| f.call(ctx)) {
                Ok(fut) => buffers.futures.push((iteration, fut)),
                Err(m) => buffers.failures.push((iteration, (ErrorKind::Panic, m))),
            }
        }
    }
    let begin = Instant::now();
    for (iteration, fut) in buffers.futures.drain(..) {
        let mut fut = std::pin::pin!(fut);
        let result = std::future::poll_fn(|cx| match catching(|| fut.as_mut().poll(cx)) {
            Ok(Poll::Ready(v)) => Poll::Ready(Ok(v)),
            Ok(Poll::Pending) => Poll::Pending,
            Err(message) => Poll::Ready(Err(message)),
        })
        .await;
        match result {
            Ok(output) if output.is_failure() => {
                let _paused = pause();
                if let Err(m) = output.into_outcome() {
                    buffers.failures.push((iteration, (ErrorKind::Error, m)));
                }
            }
            Ok(_) => {}
            Err(panic) => {
                let _paused = pause();
                buffers
                    .failures
                    .push((iteration, (ErrorKind::Panic, panic)));
            }
        }
    }
    let end = Instant::now();
    (end.saturating_duration_since(begin).as_nanos() as u64, end)
}
