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

use std::fs::File;
use std::path::Path;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::SeqCst};
use std::time::{Duration, Instant};

use tokio::sync::{Mutex, MutexGuard};

use crate::io::files;

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
}

fn lock_file() -> Option<File> {
    let dir = files::target_dir().join("perf");
    std::fs::create_dir_all(&dir).ok()?;
    open(&dir.join(LOCK_FILE))
}

fn open(path: &Path) -> Option<File> {
    std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
        .ok()
}

/// Locks `file` for an exclusive turn, waiting while another process
/// holds it (an error leaves the process lock alone in force).
fn lock(file: &File) {
    let _ = file.lock();
}

/// Whether an exclusive test of another process holds the file now (for a
/// test that does not take turns).
fn held_elsewhere() -> bool {
    let Some(file) = lock_file() else {
        return false;
    };
    let blocked = matches!(
        file.try_lock_shared(),
        Err(std::fs::TryLockError::WouldBlock)
    );
    // Held by an exclusive turn of this process: then by no other.
    blocked && FILE_HELD.load(SeqCst) == 0
}

impl Turn {
    fn begin(
        held: Option<MutexGuard<'static, ()>>,
        file: Option<File>,
        other: bool,
        since: Instant,
    ) -> Turn {
        let running_at_start = RUNNING.fetch_add(1, SeqCst);
        let started_at_start = STARTED.fetch_add(1, SeqCst) + 1;
        Turn {
            _held: held,
            _file: file,
            other_process: other,
            running_at_start,
            started_at_start,
            waited: since.elapsed(),
        }
    }

    /// Waits for this test's turn on the calling thread (not on a
    /// runtime); at once for a test that does not take turns.
    pub(crate) fn take_blocking(exclusive: bool) -> Turn {
        let since = Instant::now();
        if !exclusive {
            return Turn::begin(None, None, held_elsewhere(), since);
        }
        let held = IN_PROCESS.blocking_lock();
        let file = lock_file();
        if let Some(f) = &file {
            lock(f);
            FILE_HELD.fetch_add(1, SeqCst);
        }
        Turn::begin(Some(held), file, false, since)
    }

    /// Waits for this test's turn on the runtime it is called on.
    pub(crate) async fn take(exclusive: bool) -> Turn {
        let since = Instant::now();
        if !exclusive {
            let other = tokio::task::spawn_blocking(held_elsewhere).await;
            return Turn::begin(None, None, other.unwrap_or(false), since);
        }
        let held = IN_PROCESS.lock().await;
        let locked = tokio::task::spawn_blocking(|| {
            let file = lock_file();
            if let Some(f) = &file {
                lock(f);
                FILE_HELD.fetch_add(1, SeqCst);
            }
            file
        })
        .await;
        Turn::begin(Some(held), locked.unwrap_or(None), false, since)
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
        (!beside.is_empty()).then(|| {
            format!(
                "another perf test {} ran at the same time (exclusive = false): the figures may include its load",
                beside.join(" and ")
            )
        })
    }
}

impl Drop for Turn {
    fn drop(&mut self) {
        RUNNING.fetch_sub(1, SeqCst);
        // Unlocked first, counted after: never a moment in which the lock
        // is this process's but reads as another's.
        if self._file.take().is_some() {
            FILE_HELD.fetch_sub(1, SeqCst);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_processs_own_exclusive_turn_is_not_another_processs() {
        // The lock is per open file: a shared lock through a second handle
        // is blocked by this process's own turn, as CI once reported as
        // "of another process".
        let turn = Turn::take_blocking(true);
        assert!(!held_elsewhere(), "the holder is this process");
        let beside = Turn::take_blocking(false);
        let o = beside.overlap().unwrap();
        assert!(
            o.contains("of this process") && !o.contains("of another process"),
            "{o}"
        );
        drop((beside, turn));
    }

    #[test]
    fn a_turn_sees_the_one_beside_it_and_an_exclusive_one_waits() {
        let first = Turn::take_blocking(false);
        let beside = Turn::take_blocking(false);
        assert!(beside
            .overlap()
            .is_some_and(|o| o.contains("of this process")));
        assert!(first.overlap().is_some(), "one started after it");
        drop((first, beside));

        let first = Turn::take_blocking(true);
        let (tx, rx) = std::sync::mpsc::channel();
        let waiter = std::thread::spawn(move || {
            let second = Turn::take_blocking(true);
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
