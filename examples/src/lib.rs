//! The showcase: perf tests a new user can read as documentation. They live
//! in `tests/` and run with `cargo test -p perf-examples`.
//!
//! This crate depends on `perf-runtime` alone (no tokio of its own): the
//! macro reaches tokio through the runtime.

use std::collections::HashMap;

/// A small service to measure: parses `key=value;...` configuration lines.
pub fn parse_config(text: &str) -> Result<HashMap<&str, &str>, String> {
    text.split(';')
        .filter(|part| !part.trim().is_empty())
        .map(|part| {
            part.split_once('=')
                .map(|(k, v)| (k.trim(), v.trim()))
                .ok_or_else(|| format!("`{part}` has no `=`"))
        })
        .collect()
}
