//! Watching a run while it happens: the progress line and `abort_on_fail`.
//!
//! Twice a second the monitor (an OS thread) reads what the workers have flushed (they
//! flush at least when a new second of the run starts) and
//! - updates a progress line on stderr, when stderr is a terminal or
//!   `PERF_PROGRESS=1`, once the run has gone on for two seconds (so short
//!   runs never show one). On a terminal it is an `indicatif` bar shared by
//!   all perf tests of the process; elsewhere a plain line at a steady
//!   interval until the end (a tenth of the planned length, between 2 s
//!   and 10 s; every 5 s when the length is not known). It
//!   shows elapsed/total, the current rate (the last complete second),
//!   errors, dropped iterations and the p95 so far.
//! - with `abort_on_fail`, after the grace period, evaluates every threshold
//!   on the run so far (and per-window thresholds on the newest full
//!   window), and stops the run at the first broken one.
//! - with `repeat = "auto"`, takes a look at the thresholds when one is due
//!   and stops the run once they are conclusive (or its `duration` cap
//!   has passed); the looks are the judge's ([`crate::judge::until`]).

use std::io::{IsTerminal, Write};
use std::sync::atomic::AtomicBool;
use std::sync::atomic::Ordering::{Acquire, Relaxed, Release};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use perf_spec::format_duration;

use crate::measure::recorder::{lock, Shared};
use crate::model::auto::AutoRun;
use crate::model::load::{LoadShape, Stop};
use perf_spec::format_rate as rate;

const TICK: Duration = Duration::from_millis(500);
const SHOW_AFTER: Duration = Duration::from_secs(2);
const PLAIN_EVERY: Duration = Duration::from_secs(5);
const PLAIN_AT_MOST_EVERY: Duration = Duration::from_secs(10);

/// How often a plain progress line is printed: about ten lines over a run
/// of known length, never more often than every 2 s nor less than every
/// 10 s.
fn plain_every(planned: Option<Duration>) -> Duration {
    planned.map_or(PLAIN_EVERY, |t| {
        (t / 10).clamp(SHOW_AFTER, PLAIN_AT_MOST_EVERY)
    })
}

/// The number of plain lines due `elapsed` into the run: one at every
/// multiple of `every` (a late tick prints one line, not a burst).
fn plain_due(elapsed: Duration, every: Duration) -> u32 {
    (elapsed.as_nanos() / every.as_nanos().max(1)) as u32
}

/// All progress bars of the process, so that parallel tests do not draw
/// over each other.
pub(crate) fn bars() -> &'static MultiProgress {
    static BARS: OnceLock<MultiProgress> = OnceLock::new();
    BARS.get_or_init(MultiProgress::new)
}

enum Display {
    Off,
    Bar(Option<ProgressBar>),
    /// Lines printed so far, one every `every`.
    Plain {
        printed: u32,
        every: Duration,
    },
}

/// What the monitor is told about the run it watches.
pub(crate) struct Watching {
    /// The test's name, for the progress line.
    pub(crate) name: String,
    /// `PERF_PROGRESS`: print progress lines when stderr is no terminal.
    pub(crate) progress: bool,
    /// The `abort_on_fail` check, if the test has thresholds.
    pub(crate) live: Option<Box<dyn LiveCheck>>,
    /// `repeat = "auto"`'s looks.
    pub(crate) until: Option<Box<dyn StopCheck>>,
    /// `cpu_profile`: started when the measured phase starts.
    pub(crate) cpu_profile: Option<std::sync::Arc<crate::measure::cpu_profile::CpuProfiler>>,
    /// The resource sampler: asked for a reading when the measured phase
    /// starts.
    pub(crate) resources: Option<crate::measure::resources::Marker>,
    /// Calibrate the machine before this run (and after it, if it is the
    /// last): the test compares with or saves a baseline.
    pub(crate) calibrate: bool,
}

/// `abort_on_fail`'s question about the run so far, answered by the judge
/// ([`crate::judge::live`]): why to stop it, if it should stop.
pub(crate) trait LiveCheck: Send + 'static {
    /// `Some(reason)` if a threshold is broken `elapsed` into the run.
    fn broken(&self, shared: &Shared, elapsed: Duration) -> Option<String>;
}

/// `repeat = "auto"`'s question at every tick, answered by the judge
/// ([`crate::judge::until`]): stop the run now?
pub(crate) trait StopCheck: Send + 'static {
    /// Takes a look if one is due; `true` when the run should stop (its
    /// thresholds are conclusive, or a cap has passed).
    fn look(&mut self, shared: &Shared, elapsed: Duration) -> bool;
    /// The looks taken and why the run stopped, after `iterations`.
    fn finish(&mut self, iterations: u64) -> AutoRun;
}

/// How a watched run ended, as far as the monitor knows.
pub(crate) struct Watched {
    /// Why `abort_on_fail` stopped it, if it did.
    pub(crate) aborted: Option<String>,
    /// `repeat = "auto"`'s looks, for the check to finish.
    pub(crate) until: Option<Arc<Mutex<Box<dyn StopCheck>>>>,
}

pub(crate) struct Monitor {
    thread: std::thread::JoinHandle<Option<String>>,
    /// Set when the run ends.
    done: Arc<AtomicBool>,
    until: Option<Arc<Mutex<Box<dyn StopCheck>>>>,
}

struct State {
    name: String,
    shared: Arc<Shared>,
    start: Instant,
    planned: Option<Duration>,
    repeat: Option<u64>,
    live: Option<Box<dyn LiveCheck>>,
    abort_after: Option<Duration>,
    until: Option<Arc<Mutex<Box<dyn StopCheck>>>>,
    display: Display,
}

impl Monitor {
    pub(crate) fn start(
        watching: Watching,
        load: &LoadShape,
        shared: Arc<Shared>,
        start: Instant,
    ) -> Monitor {
        let Watching {
            name,
            progress: forced,
            live,
            until,
            cpu_profile: _,
            resources: _,
            calibrate: _,
        } = watching;
        let until = until.map(|u| Arc::new(Mutex::new(u)));
        let display = if std::io::stderr().is_terminal() {
            Display::Bar(None)
        } else if forced {
            Display::Plain {
                printed: 0,
                every: plain_every(load.planned_length()),
            }
        } else {
            Display::Off
        };
        let mut state = State {
            name,
            shared,
            start,
            planned: load.planned_length(),
            repeat: match load.stop {
                Stop::Repeat(n) if load.rate.is_none() => Some(n),
                _ => None,
            },
            live,
            abort_after: load.abort_on_fail,
            until: until.clone(),
            display,
        };
        // A thread of its own, not a task on the test's runtime: a body
        // that never yields (a CPU-bound loop) keeps every runtime thread
        // busy, and a task would wait for the end of the run to take the
        // looks that were to end it.
        let done = Arc::new(AtomicBool::new(false));
        let stop = done.clone();
        let thread = std::thread::Builder::new()
            .name("perf-monitor".into())
            .spawn(move || {
                let _paused = crate::measure::scope::pause();
                let mut next = Instant::now() + TICK;
                loop {
                    while !stop.load(Acquire) {
                        let now = Instant::now();
                        if now >= next {
                            break;
                        }
                        std::thread::park_timeout(next - now);
                    }
                    if stop.load(Acquire) {
                        return None;
                    }
                    next += TICK;
                    state.show();
                    if let Some(reason) = state.check_abort() {
                        state.shared.stop.store(true, Relaxed);
                        state.clear();
                        return Some(reason);
                    }
                    if state.enough() {
                        state.shared.stop.store(true, Relaxed);
                    }
                }
            })
            .expect("spawning the monitor thread");
        Monitor {
            thread,
            done,
            until,
        }
    }

    /// Stops watching; returns why the run was aborted, if it was.
    pub(crate) fn finish(self) -> Watched {
        self.done.store(true, Release);
        self.thread.thread().unpark();
        // The monitor's state (its progress bar cleared) goes with it.
        let aborted = self.thread.join().ok().flatten();
        Watched {
            aborted,
            until: self.until,
        }
    }
}

impl State {
    fn line(&self) -> String {
        let now = Instant::now();
        let elapsed = now - self.start;
        let s = &self.shared;
        let (iterations, errors, dropped) = (s.iterations(), s.errors(), s.dropped());
        // The current rate: the iterations of the last complete second (the
        // timeline is exact there; counters in between move in batches).
        let complete = elapsed.as_secs() as u32;
        let current = if complete >= 1 {
            s.window(complete - 1, 1).iterations as f64
        } else {
            iterations as f64 / elapsed.as_secs_f64().max(1e-9)
        };
        let hist = s.latency_so_far();
        let p95 = if hist.is_empty() {
            "-".into()
        } else {
            format_duration(Duration::from_nanos(hist.value_at_quantile(0.95)))
        };
        let progress = match (self.planned, self.repeat) {
            (Some(total), _) => format!("{}/{}", format_duration(elapsed), format_duration(total)),
            (None, Some(n)) => format!("{iterations}/{n} iterations, {}", format_duration(elapsed)),
            _ => format_duration(elapsed),
        };
        let mut line = format!(
            "{}  {progress}  {}  errors {errors}",
            self.name,
            rate(current)
        );
        if dropped > 0 {
            line.push_str(&format!("  dropped {dropped}"));
        }
        line.push_str(&format!("  p95 {p95}"));
        line
    }

    fn show(&mut self) {
        if self.start.elapsed() < SHOW_AFTER || matches!(self.display, Display::Off) {
            return;
        }
        let line = self.line();
        match &mut self.display {
            Display::Off => {}
            Display::Bar(bar) => {
                let bar = bar.get_or_insert_with(|| {
                    let bar = bars().add(ProgressBar::new_spinner());
                    bar.set_style(
                        ProgressStyle::with_template("{spinner} {msg}").expect("valid template"),
                    );
                    bar
                });
                bar.set_message(line);
                bar.tick();
            }
            Display::Plain { printed, every } => {
                let due = plain_due(self.start.elapsed(), *every);
                if due > *printed {
                    *printed = due;
                    let _ = std::io::stderr()
                        .lock()
                        .write_all(format!("progress: {line}\n").as_bytes());
                }
            }
        }
    }

    fn clear(&mut self) {
        if let Display::Bar(Some(bar)) = &self.display {
            bar.finish_and_clear();
            bars().remove(bar);
        }
        self.display = Display::Off;
    }

    /// `repeat = "auto"`: whether the looks say to stop.
    fn enough(&self) -> bool {
        let Some(until) = &self.until else {
            return false;
        };
        let elapsed = self.start.elapsed();
        lock(until).look(&self.shared, elapsed)
    }

    fn check_abort(&self) -> Option<String> {
        let grace = self.abort_after?;
        let elapsed = self.start.elapsed();
        if elapsed < grace {
            return None;
        }
        self.live.as_ref()?.broken(&self.shared, elapsed)
    }
}

impl Drop for State {
    fn drop(&mut self) {
        self.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The seconds at which plain lines appear, with the monitor's ticks.
    fn lines(planned: Option<Duration>, run: Duration) -> Vec<f64> {
        let every = plain_every(planned);
        let (mut printed, mut at) = (0, Vec::new());
        let mut t = TICK;
        while t <= run {
            let due = plain_due(t, every);
            if t >= SHOW_AFTER && due > printed {
                printed = due;
                at.push(t.as_secs_f64());
            }
            t += TICK;
        }
        at
    }

    #[test]
    fn plain_progress_lines_come_at_a_steady_interval_until_the_end() {
        let s = Duration::from_secs;
        // A 6 s run: every 2 s, not once at 2 s.
        assert_eq!(lines(Some(s(6)), s(6)), [2.0, 4.0, 6.0]);
        // A minute: every 6 s, ten lines.
        assert_eq!(lines(Some(s(60)), s(60)).len(), 10);
        // Ten minutes: every 10 s at most.
        assert_eq!(lines(Some(s(600)), s(600)).len(), 60);
        // Unknown length: every 5 s.
        assert_eq!(lines(None, s(16)), [5.0, 10.0, 15.0]);
        // A late tick prints one line, not the ones it missed.
        assert_eq!(plain_due(s(9), s(2)), 4);
    }
}
