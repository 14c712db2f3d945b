use perf_runtime::perf_test;

#[perf_test(rate = 10, stages = [("30s", 100), ("1m")])]
async fn case() {}

fn main() {}
