#![deny(deprecated)]

use perf_runtime::perf_test;

// p99.9 of 2,000 iterations rests on 2 samples: a warning, an error here
// because the crate denies it.
#[perf_test(repeat = 2000, p999 < "10ms")]
async fn case() {}

fn main() {}
