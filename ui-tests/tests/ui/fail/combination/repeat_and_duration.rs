use perf_runtime::perf_test;

#[perf_test(repeat = 100, duration = "30s")]
async fn case() {}

fn main() {}
