use perf_runtime::perf_test;

#[perf_test(rate = 100, duration = "1m", profile = "spiky")]
async fn case() {}

fn main() {}
