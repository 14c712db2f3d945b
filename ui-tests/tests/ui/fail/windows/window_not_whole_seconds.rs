use perf_runtime::perf_test;

#[perf_test(duration = "30s", p95 < "200ms" per "1500ms")]
async fn case() {}

fn main() {}
