use perf_runtime::perf_test;

#[perf_test(rate = 10, stages = [("10s", 100), ("10s", 0)], p99 < "1s" per "30s")]
async fn case() {}

fn main() {}
