use perf_runtime::perf_test;

// A search over workers finds a number of workers: a rate or a fraction
// of a worker is no limit for it.
#[perf_test(capacity(workers = 1..=64), p95 < "50ms", capacity >= "600/m")]
async fn rate() {}

#[perf_test(capacity(workers = 1..=64), p95 < "50ms", capacity >= 2.5)]
async fn fraction() {}

fn main() {}
