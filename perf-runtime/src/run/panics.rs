//! Catching panics in iterations without flooding the output.
//!
//! A panic inside an iteration is an error to count, not a crash: it is
//! caught with `catch_unwind` around each poll. The default panic hook would
//! still print every one of them (thousands in a broken run), so a hook is
//! installed once that, on a thread currently polling a worker (see
//! [`quiet_panics`]), keeps the message and location for the report instead
//! of printing; anywhere else (other tasks, other threads) it defers to the
//! hook that was there before.

use std::any::Any;
use std::cell::{Cell, RefCell};
use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Once;

thread_local! {
    static IN_ITERATION: Cell<bool> = const { Cell::new(false) };
    static LAST_PANIC: RefCell<Option<String>> = const { RefCell::new(None) };
}

static INSTALL: Once = Once::new();

pub(crate) fn install_hook() {
    INSTALL.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if IN_ITERATION.with(Cell::get) {
                let location = info
                    .location()
                    .map(|l| format!(" at {}:{}:{}", l.file(), l.line(), l.column()));
                let message = payload_message(info.payload());
                LAST_PANIC.with(|p| {
                    *p.borrow_mut() = Some(format!("{message}{}", location.unwrap_or_default()))
                });
            } else {
                previous(info);
            }
        }));
    });
}

fn payload_message(payload: &(dyn Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "panic with a non-string payload".to_owned()
    }
}

/// Initialises this thread's panic-capture state, whose first use would
/// otherwise allocate (registering a thread-local destructor) inside the
/// first measured iteration.
pub(crate) fn prepare_thread() {
    IN_ITERATION.with(|_| ());
    LAST_PANIC.with(|_| ());
    // tokio's per-thread context has a destructor too.
    let _ = tokio::runtime::Handle::try_current();
}

/// Runs a worker task: while it is being polled, panics on this thread are
/// kept for the report rather than printed. Set once per poll of the worker
/// (which runs many iterations), not once per iteration.
pub(crate) async fn quiet_panics<F: Future>(fut: F) -> F::Output {
    let mut fut = std::pin::pin!(fut);
    std::future::poll_fn(move |cx| {
        let was = IN_ITERATION.with(|c| c.replace(true));
        let polled = fut.as_mut().poll(cx);
        IN_ITERATION.with(|c| c.set(was));
        polled
    })
    .await
}

/// Runs `f` as part of an iteration (inside [`quiet_panics`]): a panic
/// becomes `Err(message)`.
pub(crate) fn catching<R>(f: impl FnOnce() -> R) -> Result<R, String> {
    catch_unwind(AssertUnwindSafe(f)).map_err(|payload| {
        let message = LAST_PANIC
            .with(|p| p.borrow_mut().take())
            .unwrap_or_else(|| payload_message(&*payload));
        drop_payload(payload);
        message
    })
}

/// Drops a panic payload whose `Drop` may itself panic: that second panic
/// is caught too, and its own payload leaked rather than dropped (it could
/// panic again), so that it never unwinds out of the iteration and takes
/// the run's summary and report with it.
fn drop_payload(payload: Box<dyn Any + Send>) {
    if let Err(again) = catch_unwind(AssertUnwindSafe(move || drop(payload))) {
        std::mem::forget(again);
    }
    // The hook kept the second panic's message; it belongs to no iteration.
    LAST_PANIC.with(|p| p.borrow_mut().take());
}

#[cfg(test)]
mod tests {
    use super::*;

    struct PanicsOnDrop;
    impl Drop for PanicsOnDrop {
        fn drop(&mut self) {
            panic!("drop of the payload panicked");
        }
    }

    #[test]
    fn a_payload_whose_drop_panics_is_still_an_error() {
        install_hook();
        let got = IN_ITERATION.with(|c| c.replace(true));
        let result = catching(|| std::panic::panic_any(PanicsOnDrop));
        IN_ITERATION.with(|c| c.set(got));
        let message = result.unwrap_err();
        assert!(
            message.contains("Box<dyn Any>") || message.contains("non-string"),
            "{message}"
        );
        // Nothing of the second panic is left for the next iteration.
        assert!(LAST_PANIC.with(|p| p.borrow().is_none()));
        assert_eq!(catching(|| 7), Ok(7));
    }
}
