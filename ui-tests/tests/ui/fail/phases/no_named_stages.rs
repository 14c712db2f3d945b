use perf_runtime::perf_test;

#[perf_test(rate = 50, duration = "10s", p95 < "200ms", p95 in "peak" < "300ms")]
async fn case() {}

fn main() {}
