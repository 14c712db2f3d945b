//! A CPU profile of a run's measured phase: where its CPU time went, as
//! the functions with the most samples of their own ("self time"), and
//! the files `go tool pprof` and a browser open (`<test>.cpu.pb.gz`,
//! `<test>.flamegraph.svg`, written beside the JSON report).

use serde::{Deserialize, Serialize};

pub use perf_spec::{DEFAULT_PROFILE_HZ, MAX_PROFILE_HZ};

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
