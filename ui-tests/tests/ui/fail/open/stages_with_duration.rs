use perf_runtime::perf_test;

#[perf_test(rate = 10, duration = "1m", stages = [("30s", 100)])]
async fn case() {}

fn main() {}
