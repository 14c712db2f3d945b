use perf_runtime::perf_test;

#[perf_test(duration = "1m", profile = "peak")]
async fn case() {}

fn main() {}
