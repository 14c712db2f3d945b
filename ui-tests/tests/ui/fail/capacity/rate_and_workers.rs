use perf_runtime::perf_test;

#[perf_test(capacity(rate = 50..=500, workers = 1..=512), p95 < "50ms")]
async fn case() {}

fn main() {}
