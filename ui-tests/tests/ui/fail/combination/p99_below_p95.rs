use perf_runtime::perf_test;

#[perf_test(p95 < "200ms", p99 < "100ms")]
async fn case() {}

fn main() {}
