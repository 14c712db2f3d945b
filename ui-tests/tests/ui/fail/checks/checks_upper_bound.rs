use perf_runtime::perf_test;

#[perf_test(checks < 0.99)]
async fn case() {}

fn main() {}
