//! Compile-time checks of `#[perf_test]`: every rejected annotation fails
//! with an error at the offending token (`tests/ui/fail/<topic>/*.rs`, with
//! the expected `.stderr` beside each), and every accepted form compiles
//! (`tests/ui/pass`).
//!
//! After an intended change to a message: `TRYBUILD=overwrite cargo test -p
//! perf-tests --test ui`, then review the `.stderr` diff. The files are
//! made with the toolchain pinned in `rust-toolchain.toml`.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.pass("tests/ui/pass/*.rs");
    t.compile_fail("tests/ui/fail/*/*.rs");
}
