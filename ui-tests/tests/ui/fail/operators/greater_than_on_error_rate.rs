use perf_runtime::perf_test;

#[perf_test(error_rate >= 0.01)]
async fn case() {}

fn main() {}
