use perf_runtime::perf_test;

#[perf_test(throttle_rate < 2)]
async fn case() {}

fn main() {}
