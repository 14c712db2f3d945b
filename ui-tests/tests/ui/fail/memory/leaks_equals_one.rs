use perf_runtime::perf_test;

#[perf_test(leaks == 1)]
async fn case() {}

fn main() {}
