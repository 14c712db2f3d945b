use perf_runtime::perf_test;

#[perf_test(capacity(rate = 500..=50), p95 < "50ms")]
async fn case() {}

fn main() {}
