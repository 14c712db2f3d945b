use perf_runtime::perf_test;

#[perf_test(p95 > "200ms")]
async fn case() {}

fn main() {}
