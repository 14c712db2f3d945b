//! Catching panics in iterations without flooding the output.
//!
//! A panic inside an iteration is an error to count, not a crash: it is
//! caught with `catch_unwind` around each poll. The default panic hook would
//! still print every one of them (thousands in a broken run), so a hook is
//! installed once that, on a thread currently polling an iteration, keeps
//! the message and location for the report instead of printing; anywhere
//! else it defers to the hook that was there before.

use std::any::Any;
use std::cell::{Cell, RefCell};
use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Once;
use std::task::Poll;

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

/// Runs `f` as part of an iteration: a panic becomes `Err(message)`.
pub(crate) fn catching<R>(f: impl FnOnce() -> R) -> Result<R, String> {
    let was = IN_ITERATION.with(|c| c.replace(true));
    let result = catch_unwind(AssertUnwindSafe(f));
    IN_ITERATION.with(|c| c.set(was));
    result.map_err(|payload| {
        LAST_PANIC
            .with(|p| p.borrow_mut().take())
            .unwrap_or_else(|| payload_message(&*payload))
    })
}

/// Awaits `fut`, turning a panic in any of its polls into `Err(message)`.
pub(crate) async fn catch_panics<F: Future>(fut: F) -> Result<F::Output, String> {
    let mut fut = std::pin::pin!(fut);
    std::future::poll_fn(move |cx| match catching(|| fut.as_mut().poll(cx)) {
        Ok(Poll::Ready(v)) => Poll::Ready(Ok(v)),
        Ok(Poll::Pending) => Poll::Pending,
        Err(message) => Poll::Ready(Err(message)),
    })
    .await
}
