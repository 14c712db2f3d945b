//! Shared helpers for the behaviour tests.

use std::panic::{catch_unwind, AssertUnwindSafe};

/// Runs `f`, which must panic, and returns the panic message.
pub fn panic_message(f: impl FnOnce()) -> String {
    let payload = catch_unwind(AssertUnwindSafe(f)).expect_err("expected a panic");
    if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else {
        panic!("panic payload is not a string")
    }
}

/// The cargo target directory this test binary was built in:
/// `CARGO_TARGET_DIR`, else the ancestor of the executable that cargo
/// marked with `CACHEDIR.TAG` (where perf-runtime puts `perf/` reports).
pub fn target_dir() -> std::path::PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| {
            let exe = std::env::current_exe().expect("the test executable has a path");
            exe.ancestors()
                .find(|d| d.join("CACHEDIR.TAG").is_file())
                .expect("built by cargo")
                .to_owned()
        })
}

/// Blocks on a future in a fresh multi-threaded runtime (2 threads): for
/// APIs such as `TableTest` that run on the caller's runtime.
pub fn block_on<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime")
        .block_on(future)
}
