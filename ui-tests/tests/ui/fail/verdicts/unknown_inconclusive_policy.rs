use perf_runtime::perf_test;

#[perf_test(repeat = 100, p95 < "10ms", inconclusive = "error")]
async fn case() {}

fn main() {}
