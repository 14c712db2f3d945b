use perf_runtime::perf_test;

#[perf_test(repeat = 100, p95 < "50ms", capacity >= 1000)]
async fn case() {}

fn main() {}
