use perf_runtime::perf_test;

#[perf_test(repeat = 100, p95 < "10ms", confidence = 1.0)]
async fn case() {}

fn main() {}
