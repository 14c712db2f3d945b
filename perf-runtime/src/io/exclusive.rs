//! Perf tests take turns. Plain `cargo test` runs the tests of a binary
//! at the same time, and cargo-nextest runs each in a process of its own,
//! in parallel: two load tests on one machine measure each other (on this
//! 2-core machine a 15 µs parse read 51 µs beside another). So a perf
//! test's runs are exclusive by default, as criterion's benchmarks are:
//!
//! - within a process, a lock;
//! - across processes, an advisory lock on `<target>/perf/.lock` (`flock`),
//!   so parallel `cargo test -p …` invocations and nextest's processes
//!   queue instead of disturbing each other. Where the file cannot be
//!   created (a read-only target), the process lock alone applies.
//!
//! An `exclusive = false` test neither waits nor makes others wait. Every
//! test learns whether another perf test ran beside it (of its process:
//! any; of another process: an exclusive one, which holds the file), and
//! its summary says so.

use std::fs::{File, TryLockError};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::SeqCst};
use std::time::{Duration, Instant};

use tokio::sync::{Mutex, MutexGuard};

use crate::io::files;
use crate::model::error::Error;
use perf_spec::format_duration;

static IN_PROCESS: Mutex<()> = Mutex::const_new(());
/// Perf test runs of this process going on now, and started so far.
static RUNNING: AtomicUsize = AtomicUsize::new(0);
static STARTED: AtomicU64 = AtomicU64::new(0);
/// Exclusive turns of this process holding the lock file now. The lock is
/// per open file, so this process's own turn blocks a shared lock taken
/// through another handle just as another process's would: this tells
/// the two apart.
static FILE_HELD: AtomicUsize = AtomicUsize::new(0);

/// The name of the lock file in the target directory's `perf/`.
pub const LOCK_FILE: &str = ".lock";

/// When a wait for another process's turn is first said, and how often
/// after that.
const FIRST_NOTE: Duration = Duration::from_secs(5);
const NOTE_EVERY: Duration = Duration::from_secs(30);

/// A perf test's turn: held from before its first run to after its last.
pub(crate) struct Turn {
    /// The process lock, for an exclusive test.
    _held: Option<MutexGuard<'static, ()>>,
    /// The lock file, locked (dropping it unlocks).
    _file: Option<File>,
    /// For a test that does not take turns: an exclusive test of another
    /// process held the file when this one started.
    other_process: bool,
    running_at_start: usize,
    started_at_start: u64,
    /// How long the turn took to come.
    pub(crate) waited: Duration,
    /// The part of it spent on another process's turn: the test's time
    /// (its `timeout` covers it). A turn of this process's own tests is
    /// not: they are bounded by their own timeouts, and counting it would
    /// fail a test for the order in which `cargo test` started it.
    pub(crate) waited_for_other_process: Duration,
    /// Why the lock file could not be used, when it could not: the
    /// process lock alone applied.
    lost: Option<String>,
}

/// What a test waiting for its turn is called, and how long it may wait
/// for another process.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Waiting<'a> {
    pub(crate) name: &'a str,
    pub(crate) timeout: Option<Duration>,
}

impl<'a> Waiting<'a> {
    pub(crate) const fn new(name: &'a str, timeout: Option<Duration>) -> Self {
        Waiting { name, timeout }
    }
}

fn lock_path() -> PathBuf {
    files::target_dir().join("perf").join(LOCK_FILE)
}

fn lock_file() -> Result<File, String> {
    let path = lock_path();
    let opened = path
        .parent()
        .map_or(Ok(()), std::fs::create_dir_all)
        .and_then(|()| open(&path));
    opened.map_err(|e| format!("{}: {e}", path.display()))
}

fn open(path: &Path) -> std::io::Result<File> {
    std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .read(true)
        .write(true)
        .open(path)
}

/// Locks `file` for an exclusive turn, waiting while another process
/// holds it: saying so after a few seconds and every 30 s (with who holds
/// it), and giving up at the test's timeout. An error of the lock itself
/// is returned as `Ok(Some(reason))`: the process lock alone applies.
fn lock(file: &mut File, waiting: Waiting<'_>) -> Result<Option<String>, Error> {
    let since = Instant::now();
    let mut pause = Duration::from_millis(1);
    let mut next_note = FIRST_NOTE;
    loop {
        match file.try_lock() {
            Ok(()) => {
                // Who holds it, for those who wait (best effort: a waiter
                // reading an empty file says it does not know).
                let _ = file.set_len(0);
                let _ = writeln!(file, "{}", std::process::id());
                return Ok(None);
            }
            Err(TryLockError::WouldBlock) => {}
            Err(TryLockError::Error(e)) => {
                return Ok(Some(format!("{}: {e}", lock_path().display())))
            }
        }
        let waited = since.elapsed();
        if let Some(timeout) = waiting.timeout.filter(|t| waited >= *t) {
            return Err(Error::Turn(format!(
                "perf test {}: its turn did not come within its timeout of {}: {} is held by {} (perf tests take turns; `exclusive = false` opts out)",
                waiting.name,
                format_duration(timeout),
                lock_path().display(),
                holder(),
            )));
        }
        if waited >= next_note {
            next_note = waited + NOTE_EVERY;
            let _ = writeln!(
                std::io::stderr().lock(),
                "perf test {}: waiting {} for its turn: {} is held by {}",
                waiting.name,
                format_duration(Duration::from_secs(waited.as_secs())),
                lock_path().display(),
                holder(),
            );
        }
        std::thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_millis(20));
    }
}

/// Who holds the lock file, as far as it says: `pid 4242 (perf_tests, stopped)`.
fn holder() -> String {
    let pid = std::fs::read_to_string(lock_path())
        .ok()
        .and_then(|text| text.trim().parse::<u32>().ok());
    let Some(pid) = pid else {
        return "another process (it has not written its pid yet)".into();
    };
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok();
    // `pid (comm) state …`: the name may hold spaces and parentheses.
    let described = stat.as_deref().and_then(|stat| {
        let (name, rest) = stat.split_once(" (")?.1.rsplit_once(") ")?;
        let state = match rest.chars().next()? {
            'T' | 't' => {
                ", stopped (SIGSTOP or a debugger): it will not let go until it is continued"
            }
            'Z' => ", exiting",
            _ => "",
        };
        Some(format!("pid {pid} ({name}{state})"))
    });
    described.unwrap_or_else(|| format!("pid {pid}"))
}

/// Whether an exclusive test of another process holds the file now (for a
/// test that does not take turns).
fn held_elsewhere() -> bool {
    let Ok(file) = lock_file() else {
        return false;
    };
    let blocked = matches!(file.try_lock_shared(), Err(TryLockError::WouldBlock));
    // Held by an exclusive turn of this process: then by no other.
    blocked && FILE_HELD.load(SeqCst) == 0
}

/// The lock file locked for an exclusive turn (see [`lock`]).
fn lock_exclusive(waiting: Waiting<'_>) -> Result<(Option<File>, Duration, Option<String>), Error> {
    let since = Instant::now();
    let mut file = match lock_file() {
        Ok(file) => file,
        Err(why) => return Ok((None, Duration::ZERO, Some(why))),
    };
    let lost = lock(&mut file, waiting)?;
    let waited = since.elapsed();
    if lost.is_some() {
        return Ok((None, waited, lost));
    }
    FILE_HELD.fetch_add(1, SeqCst);
    Ok((Some(file), waited, None))
}

impl Turn {
    fn begin(held: Option<MutexGuard<'static, ()>>, other: bool, since: Instant) -> Turn {
        crate::measure::resources::test_starts();
        let running_at_start = RUNNING.fetch_add(1, SeqCst);
        let started_at_start = STARTED.fetch_add(1, SeqCst) + 1;
        Turn {
            _held: held,
            _file: None,
            other_process: other,
            running_at_start,
            started_at_start,
            waited: since.elapsed(),
            waited_for_other_process: Duration::ZERO,
            lost: None,
        }
    }

    fn with_file(mut self, (file, waited, lost): (Option<File>, Duration, Option<String>)) -> Turn {
        self._file = file;
        self.waited_for_other_process = waited;
        self.lost = lost;
        self
    }

    /// Waits for this test's turn on the calling thread (not on a
    /// runtime); at once for a test that does not take turns.
    pub(crate) fn take_blocking(exclusive: bool, waiting: Waiting<'_>) -> Result<Turn, Error> {
        let since = Instant::now();
        if !exclusive {
            return Ok(Turn::begin(None, held_elsewhere(), since));
        }
        let held = IN_PROCESS.blocking_lock();
        let file = lock_exclusive(waiting)?;
        Ok(Turn::begin(Some(held), false, since).with_file(file))
    }

    /// Waits for this test's turn on the runtime it is called on.
    pub(crate) async fn take(exclusive: bool, waiting: Waiting<'_>) -> Result<Turn, Error> {
        let since = Instant::now();
        if !exclusive {
            let other = tokio::task::spawn_blocking(held_elsewhere).await;
            return Ok(Turn::begin(None, other.unwrap_or(false), since));
        }
        let held = IN_PROCESS.lock().await;
        let (name, timeout) = (waiting.name.to_owned(), waiting.timeout);
        let file = tokio::task::spawn_blocking(move || {
            lock_exclusive(Waiting {
                name: &name,
                timeout,
            })
        })
        .await
        .map_err(|e| Error::Turn(format!("waiting for the lock file: {e}")))??;
        Ok(Turn::begin(Some(held), false, since).with_file(file))
    }

    /// What is left of `timeout` for the run after this turn's wait for
    /// other processes (`None`: no timeout).
    pub(crate) fn timeout_left(&self, timeout: Option<Duration>) -> Option<Duration> {
        timeout.map(|t| t.saturating_sub(self.waited_for_other_process))
    }

    /// Whether another perf test ran beside this one, in words: one of
    /// this process that did not take turns, or (for a test that did not
    /// take turns) an exclusive one of another process.
    pub(crate) fn overlap(&self) -> Option<String> {
        self.overlap_besides(0)
    }

    /// [`overlap`](Self::overlap) for a turn in which this test started
    /// `own` runs of its own that did not take turns (a capacity search's
    /// steps): they are not another test.
    pub(crate) fn overlap_besides(&self, own: usize) -> Option<String> {
        let started_since = (STARTED.load(SeqCst) - self.started_at_start).saturating_sub(own as _);
        let mut beside = Vec::new();
        if self.running_at_start > 0 || started_since > 0 {
            beside.push("of this process");
        }
        if self.other_process {
            beside.push("of another process");
        }
        let beside = (!beside.is_empty()).then(|| {
            format!(
                "another perf test {} ran at the same time (exclusive = false): the figures may include its load",
                beside.join(" and ")
            )
        });
        let lost = self.lost.as_ref().map(|why| {
            format!("the lock file could not be used ({why}): perf tests of other processes were not kept from running at the same time")
        });
        match (beside, lost) {
            (Some(a), Some(b)) => Some(format!("{a}; {b}")),
            (a, b) => a.or(b),
        }
    }
}

impl Drop for Turn {
    fn drop(&mut self) {
        RUNNING.fetch_sub(1, SeqCst);
        // Unlocked first, counted after: never a moment in which the lock
        // is this process's but reads as another's.
        if let Some(file) = self._file.take() {
            // No pid of a turn that is over for the next waiter to blame.
            let _ = file.set_len(0);
            drop(file);
            FILE_HELD.fetch_sub(1, SeqCst);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const W: Waiting<'static> = Waiting {
        name: "t",
        timeout: None,
    };

    #[test]
    fn this_processs_own_exclusive_turn_is_not_another_processs() {
        // The lock is per open file: a shared lock through a second handle
        // is blocked by this process's own turn, as CI once reported as
        // "of another process".
        let turn = Turn::take_blocking(true, W).unwrap();
        assert!(!held_elsewhere(), "the holder is this process");
        let beside = Turn::take_blocking(false, W).unwrap();
        let o = beside.overlap().unwrap();
        assert!(
            o.contains("of this process") && !o.contains("of another process"),
            "{o}"
        );
        drop((beside, turn));
    }

    #[test]
    fn a_turn_sees_the_one_beside_it_and_an_exclusive_one_waits() {
        let first = Turn::take_blocking(false, W).unwrap();
        let beside = Turn::take_blocking(false, W).unwrap();
        assert!(beside
            .overlap()
            .is_some_and(|o| o.contains("of this process")));
        assert!(first.overlap().is_some(), "one started after it");
        drop((first, beside));

        let first = Turn::take_blocking(true, W).unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        let waiter = std::thread::spawn(move || {
            let second = Turn::take_blocking(true, W).unwrap();
            tx.send(second.waited).unwrap();
        });
        std::thread::sleep(Duration::from_millis(200));
        assert!(rx.try_recv().is_err(), "the second waits for the first");
        drop(first);
        let waited = rx.recv_timeout(Duration::from_secs(10)).unwrap();
        // The waiter's clock starts when its thread does, a little after
        // the 200 ms sleep began (199.95 ms was seen on a busy machine):
        // the turn it reports is at least the sleep minus that start-up.
        assert!(waited >= Duration::from_millis(150), "{waited:?}");
        waiter.join().unwrap();
    }
}
