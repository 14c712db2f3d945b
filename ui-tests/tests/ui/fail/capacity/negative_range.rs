use perf_runtime::perf_test;

#[perf_test(capacity(rate = -5..=100), p95 < "50ms")]
async fn negative_low_end() {}

#[perf_test(capacity(workers = 1..=-8), p95 < "50ms")]
async fn negative_high_end() {}

fn main() {}
