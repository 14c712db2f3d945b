use perf_runtime::perf_test;

#[perf_test(iteration_timeout = "0ms")]
async fn case() {}

fn main() {}
