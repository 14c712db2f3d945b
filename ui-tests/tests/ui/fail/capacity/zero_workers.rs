use perf_runtime::perf_test;

#[perf_test(capacity(workers = 0..=64), p95 < "50ms")]
async fn case() {}

fn main() {}
