use perf_runtime::perf_test;

#[perf_test(duration = "30s", p95 < "200ms" per "1m")]
async fn case() {}

fn main() {}
