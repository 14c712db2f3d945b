use perf_runtime::perf_test;

#[perf_test(duration = "1m", p95 for "cold" < "1s" per "10s")]
async fn case() {}

fn main() {}
