use perf_runtime::perf_test;

#[perf_test(capacity(rate = 50..=500), stages = [("10s", 100)], p95 < "50ms")]
async fn case() {}

fn main() {}
