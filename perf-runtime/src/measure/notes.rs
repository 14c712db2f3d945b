//! What an iteration says about itself through its [`Ctx`](crate::Ctx):
//! a tag (`ctx.tag("cold")`), an error class (`ctx.error_class("throttle")`)
//! and custom metrics (`ctx.record("consumed_rcu", 0.5)`).
//!
//! An iteration may move between threads from one poll to the next, so its
//! notes travel with its worker task: each worker shares a [`Notes`] with
//! the wrapper that polls it, which puts its address in a thread-local for
//! the duration of each poll, and restores the previous one after. `Ctx`
//! methods write there. A call from anywhere else (a task the iteration
//! spawned, another thread) finds no worker polling on its thread and is
//! ignored: record from the iteration itself. After each iteration the
//! worker loads one flag to know whether anything was noted, so iterations
//! that note nothing cost nothing more.

use std::cell::Cell;
use std::future::Future;
use std::ptr;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

/// A custom metric's value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Value {
    Number(f64),
    Duration(Duration),
    Count(u64),
}

/// What one iteration noted. Names are `&'static str` so that noting costs
/// no allocation (and so nothing in `allocs_per_iter`).
#[derive(Default)]
pub(crate) struct Noted {
    pub(crate) tag: Option<&'static str>,
    pub(crate) class: Option<&'static str>,
    pub(crate) values: Vec<(&'static str, Value)>,
    /// Time the iteration spent outside the timer (`ctx.think`,
    /// `ctx.untimed`), nanoseconds.
    pub(crate) untimed_ns: u64,
}

/// One worker's notes for its current iteration.
pub(crate) struct Notes {
    dirty: AtomicBool,
    noted: Mutex<Noted>,
}

impl Notes {
    /// A worker's notes, allocated once.
    pub(crate) fn new() -> Arc<Notes> {
        Arc::new(Notes {
            dirty: AtomicBool::new(false),
            noted: Mutex::new(Noted {
                values: Vec::with_capacity(8),
                ..Noted::default()
            }),
        })
    }

    fn lock(&self) -> MutexGuard<'_, Noted> {
        self.noted.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// For the worker, after an iteration: if it noted anything, hands it to
    /// `f` and clears it. One load when nothing was noted.
    #[inline]
    pub(crate) fn finish<R>(&self, f: impl FnOnce(&Noted) -> R) -> Option<R> {
        if !self.dirty.load(Relaxed) {
            return None;
        }
        self.dirty.store(false, Relaxed);
        let mut noted = self.lock();
        let r = f(&noted);
        noted.tag = None;
        noted.class = None;
        noted.values.clear();
        noted.untimed_ns = 0;
        Some(r)
    }
}

thread_local! {
    /// The notes of the worker being polled on this thread, or null.
    static CURRENT: Cell<*const Notes> = const { Cell::new(ptr::null()) };
}

/// Runs a worker task with `notes` available, during each of its polls, to
/// its iterations' `Ctx`.
pub(crate) async fn with_notes<F: Future>(notes: Arc<Notes>, fut: F) -> F::Output {
    let mut fut = std::pin::pin!(fut);
    std::future::poll_fn(move |cx| {
        let previous = CURRENT.with(|c| c.replace(Arc::as_ptr(&notes)));
        let polled = fut.as_mut().poll(cx);
        CURRENT.with(|c| c.set(previous));
        polled
    })
    .await
}

/// Notes for the worker being polled on this thread, if any.
fn note(f: impl FnOnce(&mut Noted)) {
    let current = CURRENT.try_with(Cell::get).unwrap_or(ptr::null());
    if current.is_null() {
        return;
    }
    // SAFETY: a non-null pointer is only installed by `with_notes` for the
    // duration of a poll of the future that owns an `Arc` to it, on this
    // thread, and restored after: the `Notes` is alive here.
    let notes = unsafe { &*current };
    f(&mut notes.lock());
    notes.dirty.store(true, Relaxed);
}

/// Sets the tag.
pub(crate) fn tag(tag: &'static str) {
    note(|n| n.tag = Some(tag));
}

/// Sets the error class.
pub(crate) fn class(class: &'static str) {
    note(|n| n.class = Some(class));
}

/// Adds time spent outside the timer.
pub(crate) fn untimed(nanos: u64) {
    note(|n| n.untimed_ns = n.untimed_ns.saturating_add(nanos));
}

/// Adds a custom metric value.
pub(crate) fn value(metric: &'static str, value: Value) {
    values(&[(metric, value)]);
}

/// Adds several custom metric values at once (one lock for all of them:
/// an HTTP request notes a dozen).
pub(crate) fn values(values: &[(&'static str, Value)]) {
    note(|n| n.values.extend_from_slice(values));
}
