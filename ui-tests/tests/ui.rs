//! Compile-time checks of `#[perf_test]`: every rejected annotation fails
//! with an error at the offending token (`tests/ui/fail/<topic>/*.rs`, with
//! the expected `.stderr` beside each), and every accepted form compiles
//! (`tests/ui/pass`).
//!
//! After an intended change to a message: `TRYBUILD=overwrite cargo test -p
//! perf-ui-tests`, then review the `.stderr` diff. The files are
//! made with the toolchain pinned in `rust-toolchain.toml`.

#[test]
fn ui() {
    // trybuild builds the cases in a project of its own, which does not
    // inherit the workspace's `[profile.dev]`: without this, each passing
    // case is a binary full of debug info (370 MB each when this crate
    // still pulled in the AWS SDKs). Its cargo inherits this process's environment; this is the
    // test's only thread when it sets it.
    std::env::set_var("CARGO_PROFILE_DEV_DEBUG", "false");
    let t = trybuild::TestCases::new();
    t.pass("tests/ui/pass/*.rs");
    t.compile_fail("tests/ui/fail/*/*.rs");
}
