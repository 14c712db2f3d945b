//! The watchdog: what must happen on time even when the test's runtime
//! cannot run anything.
//!
//! An iteration that blocks its thread (`std::thread::sleep`, a blocking
//! call in async code) never reaches an await point, so nothing scheduled
//! on the test's runtime runs on that thread again: with every worker
//! thread blocked, a tokio timer for `timeout` never fires and the run
//! waits forever. The watchdog is an OS thread of its own that wakes ten
//! times a second and
//!
//! - ends the run at its `timeout`, and after `SIGINT`/`SIGTERM`
//!   (see [`signals`](crate::signals));
//! - ends it when an iteration has been running for longer than its
//!   `iteration_timeout` allows (tokio cancels an iteration that awaits; one
//!   that blocks cannot be cancelled, only abandoned);
//! - says so, once, when no iteration has finished for 30 s and the run has
//!   no `timeout`, with how many iterations are in flight.
//!
//! Each worker marks the iteration it is running in a slot of its own
//! ([`Busy`]: one relaxed store at the start, one at the end, no clock
//! read), so the watchdog knows what is in flight without a shared counter
//! on the hot path; it times each mark itself from when it first saw it
//! ([`Ages`]), to within one tick. When the watchdog fires, the run is stopped; a
//! worker still stuck a second later is abandoned (its thread is left
//! behind, and the message says so).

use std::io::Write as _;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use perf_spec::format_duration;
use tokio::sync::oneshot;

use crate::measure::busy::Ages;
use crate::measure::recorder::{lock, Shared};

/// How often the watchdog looks.
const TICK: Duration = Duration::from_millis(100);
/// How long workers get to stop after the watchdog fired before the stuck
/// ones are abandoned.
pub(crate) const ABANDON_AFTER: Duration = Duration::from_secs(1);
/// No iteration finished for this long: say so.
pub(crate) const STALL_NOTICE: Duration = Duration::from_secs(30);
/// An iteration running this much longer than `iteration_timeout` is
/// blocking its thread: tokio would have cancelled it otherwise.
const BLOCKED_SLACK: Duration = Duration::from_secs(1);

/// Why the watchdog ended a run.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Fired {
    /// The whole-run `timeout` expired.
    Timeout,
    /// `SIGINT` or `SIGTERM`.
    Interrupted,
    /// An iteration blocked its thread past `iteration_timeout`.
    Blocked(String),
}

/// What the watchdog watches in one phase.
pub(crate) struct Watch {
    pub(crate) name: String,
    pub(crate) deadline: Option<Instant>,
    pub(crate) iteration_timeout: Option<Duration>,
    pub(crate) shared: Arc<Shared>,
}

/// The running watchdog of a phase.
pub(crate) struct Watchdog {
    done: Arc<(Mutex<bool>, Condvar)>,
    thread: Option<std::thread::JoinHandle<()>>,
}

/// The watchdog's two signals to the phase: it fired, and (a little
/// later) stuck workers should be abandoned.
pub(crate) struct Alarms {
    pub(crate) fired: oneshot::Receiver<Fired>,
    pub(crate) abandon: oneshot::Receiver<()>,
}

impl Watchdog {
    pub(crate) fn start(watch: Watch) -> (Watchdog, Alarms) {
        let (fired_tx, fired) = oneshot::channel();
        let (abandon_tx, abandon) = oneshot::channel();
        let done = Arc::new((Mutex::new(false), Condvar::new()));
        let seen = done.clone();
        let thread = std::thread::Builder::new()
            .name("perf-watchdog".into())
            .spawn(move || watch.run(&seen, fired_tx, abandon_tx))
            .expect("spawning the watchdog thread");
        (
            Watchdog {
                done,
                thread: Some(thread),
            },
            Alarms { fired, abandon },
        )
    }
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        *lock(&self.done.0) = true;
        self.done.1.notify_all();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Watch {
    /// Why the run must end now, if it must.
    fn check(&self, ages: &Ages, now: Instant) -> Option<Fired> {
        if crate::run::signals::interrupted() {
            return Some(Fired::Interrupted);
        }
        if self.deadline.is_some_and(|d| now >= d) {
            return Some(Fired::Timeout);
        }
        let limit = self.iteration_timeout?;
        let (_, oldest) = ages.in_flight(now);
        let (worker, age) = oldest?;
        (age > limit + BLOCKED_SLACK.max(limit)).then(|| {
            Fired::Blocked(format!(
                "an iteration on worker {worker} has run for {}, past iteration_timeout ({}), without reaching an \
                 await point: it blocks its thread (a blocking call in async code), so it cannot be cancelled",
                format_duration(age),
                format_duration(limit)
            ))
        })
    }

    /// The line to print when nothing has finished since `last_progress`
    /// for [`STALL_NOTICE`] while iterations are in flight, in a run with
    /// no timeout (one with a timeout ends by itself, and says then what
    /// was still running).
    fn stall_line(&self, ages: &Ages, now: Instant, last_progress: Instant) -> Option<String> {
        let quiet_for = now.saturating_duration_since(last_progress);
        if self.deadline.is_some() || quiet_for < STALL_NOTICE {
            return None;
        }
        let (count, oldest) = ages.in_flight(now);
        if count == 0 {
            return None;
        }
        let oldest = oldest.map_or(String::new(), |(_, a)| {
            format!(", the oldest for {}", format_duration(a))
        });
        Some(format!(
            "perf test {}: no iteration has finished for {}; {count} in flight{oldest} \
             (the run has no timeout: set `timeout` to bound it)",
            self.name,
            format_duration(quiet_for)
        ))
    }

    fn run(
        self,
        done: &(Mutex<bool>, Condvar),
        fired_tx: oneshot::Sender<Fired>,
        abandon_tx: oneshot::Sender<()>,
    ) {
        let mut fired_tx = Some(fired_tx);
        let mut abandon_tx = Some(abandon_tx);
        let mut fired_at = None;
        let mut progress = (self.shared.iterations(), Instant::now());
        let mut told = false;
        let mut ages = Ages::new(&self.shared.busy, Instant::now());
        let mut stopped = lock(&done.0);
        loop {
            // The phase may have ended before this thread first ran (a run
            // of a millisecond on a busy machine): a wait now would hold
            // the phase's end for a whole tick.
            if *stopped {
                return;
            }
            stopped = done
                .1
                .wait_timeout(stopped, TICK)
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .0;
            if *stopped {
                return;
            }
            let now = Instant::now();
            if let Some(at) = fired_at {
                if now >= at + ABANDON_AFTER {
                    if let Some(tx) = abandon_tx.take() {
                        let _ = tx.send(());
                    }
                }
                continue;
            }
            ages.observe(&self.shared.busy, now);
            if let Some(why) = self.check(&ages, now) {
                self.shared.stop.store(true, Relaxed);
                if let Some(tx) = fired_tx.take() {
                    let _ = tx.send(why);
                }
                fired_at = Some(now);
                continue;
            }
            let finished = self.shared.iterations();
            if finished != progress.0 {
                progress = (finished, now);
                told = false;
            } else if !told {
                if let Some(line) = self.stall_line(&ages, now, progress.1) {
                    told = true;
                    let _ = std::io::stderr()
                        .lock()
                        .write_all(format!("{line}\n").as_bytes());
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::measure::busy::Busy;

    #[test]
    fn in_flight_counts_busy_slots_and_times_them_from_first_sight() {
        let busy = Busy::new(4);
        let t0 = Instant::now();
        let mut ages = Ages::new(&busy, t0);
        assert_eq!(ages.in_flight(t0), (0, None));
        busy.start(1, 7);
        ages.observe(&busy, t0);
        busy.start(3, 0);
        ages.observe(&busy, t0 + Duration::from_secs(2));
        let (n, oldest) = ages.in_flight(t0 + Duration::from_secs(5));
        assert_eq!(n, 2);
        assert_eq!(oldest, Some((1, Duration::from_secs(5))));
        // Worker 1 went on to its next iteration: a new age.
        busy.start(1, 8);
        ages.observe(&busy, t0 + Duration::from_secs(5));
        assert_eq!(
            ages.in_flight(t0 + Duration::from_secs(5)).1,
            Some((3, Duration::from_secs(3)))
        );
        busy.end(1);
        ages.observe(&busy, t0 + Duration::from_secs(5));
        assert_eq!(ages.in_flight(t0 + Duration::from_secs(5)).0, 1);
        assert_eq!(busy.count(), 1);
        // Out-of-range workers (warm-up pools are never larger) are ignored.
        busy.start(9, 1);
        assert_eq!(busy.count(), 1);
    }

    fn watch(shared: &Arc<Shared>, deadline: Option<Instant>, limit: Option<Duration>) -> Watch {
        Watch {
            name: "suite::stuck".into(),
            deadline,
            iteration_timeout: limit,
            shared: shared.clone(),
        }
    }

    #[test]
    fn an_iteration_past_its_timeout_is_blocking_its_thread() {
        let shared = Shared::new(2, false, None);
        let w = watch(&shared, None, Some(Duration::from_secs(1)));
        let t0 = Instant::now();
        let mut ages = Ages::new(&shared.busy, t0);
        shared.busy.start(0, 0);
        ages.observe(&shared.busy, t0);
        // Within the limit and its slack: nothing.
        assert_eq!(w.check(&ages, t0 + Duration::from_millis(1900)), None);
        match w.check(&ages, t0 + Duration::from_millis(2100)) {
            Some(Fired::Blocked(m)) => assert!(
                m.contains("worker 0") && m.contains("blocks its thread"),
                "{m}"
            ),
            other => panic!("{other:?}"),
        }
        let timed = watch(&shared, Some(t0 + Duration::from_secs(1)), None);
        assert_eq!(timed.check(&ages, t0), None);
        assert_eq!(
            timed.check(&ages, t0 + Duration::from_secs(1)),
            Some(Fired::Timeout)
        );
    }

    #[test]
    fn a_watchdog_told_to_stop_before_it_first_runs_does_not_wait_a_tick() {
        // A phase of a millisecond can end before the watchdog's thread is
        // scheduled; its end waited a whole tick (100 ms) for the join.
        let shared = Shared::new(1, false, None);
        let done = (Mutex::new(true), Condvar::new());
        let (fired_tx, _fired) = oneshot::channel();
        let (abandon_tx, _abandon) = oneshot::channel();
        let t0 = Instant::now();
        watch(&shared, None, None).run(&done, fired_tx, abandon_tx);
        // A wait_timeout lasts at least TICK; returning at once takes
        // microseconds, so half a tick leaves room for a busy machine.
        assert!(t0.elapsed() < TICK / 2, "{:?}", t0.elapsed());
    }

    #[test]
    fn a_stall_is_told_with_what_is_in_flight() {
        let shared = Shared::new(3, false, None);
        let w = watch(&shared, None, None);
        let t0 = Instant::now();
        let later = t0 + Duration::from_secs(31);
        let mut ages = Ages::new(&shared.busy, t0);
        // Nothing in flight (a quiet open-model run): nothing to say.
        assert_eq!(w.stall_line(&ages, later, t0), None);
        shared.busy.start(0, 0);
        ages.observe(&shared.busy, t0);
        shared.busy.start(2, 1);
        ages.observe(&shared.busy, t0 + Duration::from_secs(1));
        assert_eq!(w.stall_line(&ages, t0 + Duration::from_secs(29), t0), None);
        let line = w.stall_line(&ages, later, t0).unwrap();
        assert!(
            line.contains("suite::stuck")
                && line.contains("no iteration has finished for 31s")
                && line.contains("2 in flight, the oldest for 31s"),
            "{line}"
        );
        // A run with a timeout ends by itself.
        let timed = watch(&shared, Some(t0 + Duration::from_secs(3600)), None);
        assert_eq!(timed.stall_line(&ages, later, t0), None);
    }
}
