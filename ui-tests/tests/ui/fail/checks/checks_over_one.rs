use perf_runtime::perf_test;

#[perf_test(checks > 1.5)]
async fn case() {}

fn main() {}
