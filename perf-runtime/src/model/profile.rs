//! A CPU profile of a run's measured phase: where its CPU time went, as
//! the functions with the most samples of their own ("self time"), and
//! the files `go tool pprof` and a browser open (`<test>.cpu.pb.gz`,
//! `<test>.flamegraph.svg`, written beside the JSON report); and a heap
//! profile: where the run's memory was allocated and where what it kept
//! comes from (`<test>.heap.pb.gz`).

use serde::{Deserialize, Serialize};

pub use perf_spec::{DEFAULT_HEAP_PROFILE_RATE, DEFAULT_PROFILE_HZ, MAX_PROFILE_HZ};

/// How many functions the summary names.
#[cfg_attr(not(all(unix, feature = "cpu-profile")), allow(dead_code))]
pub const TOP_FUNCTIONS: usize = 5;

/// A function and the samples in which it was running itself.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TopFunction {
    /// The function's (demangled) name.
    pub name: String,
    /// Samples with this function at the top of the stack.
    pub self_samples: u64,
    /// Of all samples.
    pub self_share: f64,
}

/// A run's CPU profile.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct CpuProfile {
    /// Samples per second of CPU time, per thread.
    pub frequency_hz: u32,
    /// Samples taken (each one `1 / frequency_hz` seconds of CPU).
    pub samples: u64,
    /// The functions with the most self time, most first.
    pub top: Vec<TopFunction>,
    /// The files written (`.cpu.pb.gz`, `.flamegraph.svg`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub files: Vec<String>,
    /// Why there is no profile, when there is none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unavailable: Option<String>,
    /// The gzipped pprof protobuf, until written.
    #[serde(skip)]
    pub(crate) pprof_gz: Vec<u8>,
    /// The flame graph, until written.
    #[serde(skip)]
    pub(crate) flamegraph_svg: Vec<u8>,
}

impl CpuProfile {
    /// A profile that could not be taken, and why.
    pub(crate) fn unavailable(frequency_hz: u32, why: impl Into<String>) -> CpuProfile {
        CpuProfile {
            frequency_hz,
            unavailable: Some(why.into()),
            ..CpuProfile::default()
        }
    }
}

/// One allocation site of a heap profile: the first function outside the
/// allocator and the standard library on the sampled stacks, with the
/// bytes and objects estimated from its samples.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HeapSite {
    /// The function's (demangled) name, without its hash.
    pub function: String,
    /// `file:line` of the allocating call, when debug information has it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    /// Estimated bytes allocated here during the run.
    pub alloc_bytes: f64,
    /// Estimated bytes allocated here and still in use at the end.
    pub inuse_bytes: f64,
    /// Of the profile's bytes in use at the end (or allocated, for
    /// [`HeapProfile::top_alloc`]).
    pub share: f64,
}

/// A run's heap profile (`heap_profile`): sampled allocations with their
/// stacks, scaled for sampling (see `perf_runtime::memory`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct HeapProfile {
    /// Mean bytes allocated between two samples.
    pub rate_bytes: u64,
    /// Allocations sampled.
    pub samples: u64,
    /// Samples not kept (more distinct stacks than the table holds).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub dropped_samples: u64,
    /// Estimated bytes allocated during the run.
    pub alloc_bytes: f64,
    /// Estimated bytes of the run's allocations still in use at its end.
    pub inuse_bytes: f64,
    /// The sites holding the most bytes at the end, most first.
    pub top_inuse: Vec<HeapSite>,
    /// The sites that allocated the most bytes, most first.
    pub top_alloc: Vec<HeapSite>,
    /// The file written (`.heap.pb.gz`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub files: Vec<String>,
    /// Why there is no profile, when there is none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unavailable: Option<String>,
    /// The gzipped pprof protobuf, until written.
    #[serde(skip)]
    pub(crate) pprof_gz: Vec<u8>,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

impl HeapProfile {
    /// A profile that could not be taken, and why.
    pub(crate) fn unavailable(rate_bytes: u64, why: impl Into<String>) -> HeapProfile {
        HeapProfile {
            rate_bytes,
            unavailable: Some(why.into()),
            ..HeapProfile::default()
        }
    }
}

/// An encoded profile gzipped, as `go tool pprof` reads it.
#[cfg_attr(
    not(all(unix, any(feature = "cpu-profile", feature = "heap-profile"))),
    allow(dead_code)
)]
pub(crate) fn gzip(encoded: &[u8]) -> std::io::Result<Vec<u8>> {
    use std::io::Write as _;
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(encoded)?;
    gz.finish()
}

/// A function's name without its hash suffix (`::h0123456789abcdef`).
pub(crate) fn short_name(name: &str) -> &str {
    match name.rsplit_once("::h") {
        Some((head, hash)) if hash.len() == 16 && hash.chars().all(|c| c.is_ascii_hexdigit()) => {
            head
        }
        _ => name,
    }
}

/// The `n` functions with the most self samples, from `(leaf function,
/// samples)` pairs.
#[cfg_attr(not(all(unix, feature = "cpu-profile")), allow(dead_code))]
pub(crate) fn top_functions(
    leaves: impl IntoIterator<Item = (String, u64)>,
    n: usize,
) -> (u64, Vec<TopFunction>) {
    let mut by_name = std::collections::HashMap::<String, u64>::new();
    let mut total = 0u64;
    for (name, samples) in leaves {
        total = total.saturating_add(samples);
        *by_name.entry(name).or_default() += samples;
    }
    let mut all: Vec<(String, u64)> = by_name.into_iter().collect();
    all.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    let top = all
        .into_iter()
        .take(n)
        .map(|(name, self_samples)| TopFunction {
            self_share: if total == 0 {
                0.0
            } else {
                self_samples as f64 / total as f64
            },
            name,
            self_samples,
        })
        .collect();
    (total, top)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_top_functions_are_those_with_the_most_self_samples() {
        let leaves = [
            ("hot_spin".to_owned(), 70),
            ("cold_path".to_owned(), 10),
            ("hot_spin".to_owned(), 10),
            ("poll".to_owned(), 5),
            ("a".to_owned(), 5),
        ];
        let (total, top) = top_functions(leaves, 3);
        assert_eq!(total, 100);
        let names: Vec<&str> = top.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, ["hot_spin", "cold_path", "a"], "ties by name");
        assert!((top[0].self_share - 0.8).abs() < 1e-12);
        assert!(top_functions(Vec::new(), 5).1.is_empty());
    }
}
