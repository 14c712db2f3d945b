use perf_runtime::perf_test;

#[perf_test(rate = 0, duration = "10s")]
async fn case() {}

fn main() {}
