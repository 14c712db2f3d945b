//! Performance questions are comparisons: small vs large payload, one
//! parser vs another. Each case is its own test (`cargo test -p
//! perf-examples parse::large` runs one), correctness is checked in the
//! same run, and the cases are compared with each other.

use std::time::Duration;

use perf_examples::parse_config;
use perf_runtime::prelude::*;

/// The original framework's reusable SLA, declared once. Parsing takes
/// well under a millisecond even in a debug build; 20 ms leaves room for
/// the time slices a shared 2-core CI machine takes away (a fully loaded
/// one pushed the large case's p95 to 8 ms).
const CONFIG_SLA: PerformanceSLA = PerformanceSLA::new()
    .max_p95_latency(Duration::from_millis(20))
    .max_error_rate(0.0);

fn line(entries: usize) -> String {
    (0..entries)
        .map(|i| format!("key{i}=value{i}"))
        .collect::<Vec<_>>()
        .join("; ")
}

/// Three payload sizes; the last argument is the expected output (the
/// number of entries parsed), checked on every iteration.
#[perf_test(workers = 2, repeat = 2_000, sla = CONFIG_SLA)]
#[case::small(line(4), 4)]
#[case::medium(line(40), 40)]
#[case::large(line(400), 400; repeat = 500)]
async fn parse(text: String) -> Result<usize, String> {
    parse_config(&text).map(|entries| entries.len())
}
