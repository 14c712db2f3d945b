use perf_runtime::perf_test;

#[perf_test(rate = -5, duration = "1s")]
async fn case() {}

fn main() {}
