use perf_runtime::perf_test;

#[perf_test(timeout = "30")]
async fn case() {}

fn main() {}
