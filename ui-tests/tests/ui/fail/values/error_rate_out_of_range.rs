use perf_runtime::perf_test;

#[perf_test(error_rate < 1.5)]
async fn case() {}

fn main() {}
