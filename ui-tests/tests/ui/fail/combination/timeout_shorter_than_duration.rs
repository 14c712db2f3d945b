use perf_runtime::perf_test;

#[perf_test(duration = "1m", timeout = "30s")]
async fn case() {}

fn main() {}
