//! Every accepted form of `tests/ui/pass`, compiled as a test target (see
//! `build.rs`): a key whose generated harness does not compile fails this
//! build, which trybuild's binaries cannot show. Listed by `cargo test` as
//! ignored; they are compiled, not run.

include!(concat!(env!("OUT_DIR"), "/pass_cases.rs"));
