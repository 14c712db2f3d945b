use perf_runtime::perf_test;

#[perf_test(p99 < "0ms")]
async fn case() {}

fn main() {}
