use perf_runtime::perf_test;

#[perf_test(timeout = "1s", iteration_timeout = "2s")]
async fn case() {}

fn main() {}
