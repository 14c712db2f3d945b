//! `SIGINT` (Ctrl-C) and `SIGTERM` (how Kubernetes evicts a pod) end a
//! running perf test the way a `timeout` does: the run stops iterating,
//! prints the summary of what it measured, writes its report and shard
//! result marked `interrupted`, and fails. A second signal ends the process
//! at once, as the default handler would.
//!
//! The handlers are installed when the first perf test of the process
//! starts. While no perf test is running, a signal does what it always
//! does (ends the process), so other tests of the binary are unaffected.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};

static ACTIVE: AtomicUsize = AtomicUsize::new(0);
static INTERRUPTED: AtomicBool = AtomicBool::new(false);

/// Whether a signal asked the running perf tests to stop. Stays set: the
/// tests that start after it stop at once too, so the whole `cargo test`
/// run ends quickly with every summary written.
pub(crate) fn interrupted() -> bool {
    INTERRUPTED.load(SeqCst)
}

/// Held while a perf test runs.
pub(crate) struct Running(());

impl Running {
    pub(crate) fn new() -> Running {
        install();
        ACTIVE.fetch_add(1, SeqCst);
        Running(())
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        ACTIVE.fetch_sub(1, SeqCst);
    }
}

#[cfg(unix)]
fn install() {
    use signal_hook::consts::{SIGINT, SIGTERM};
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        for sig in [SIGINT, SIGTERM] {
            // SAFETY: the handler only touches atomics and calls
            // `emulate_default_handler`, which is async-signal-safe.
            let installed = unsafe {
                signal_hook::low_level::register(sig, move || {
                    if ACTIVE.load(SeqCst) == 0 || INTERRUPTED.swap(true, SeqCst) {
                        let _ = signal_hook::low_level::emulate_default_handler(sig);
                    }
                })
            };
            // Without a handler the signal keeps its default action: the
            // process ends as it did before, nothing worse.
            let _ = installed;
        }
    });
}

#[cfg(not(unix))]
fn install() {}
