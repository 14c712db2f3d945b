use perf_runtime::perf_test;

#[perf_test(rate = 100, duration = "1m", dropped < 1 per "10s")]
async fn case() {}

fn main() {}
