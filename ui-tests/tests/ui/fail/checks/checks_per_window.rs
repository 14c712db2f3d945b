use perf_runtime::perf_test;

#[perf_test(checks > 0.99 per "10s")]
async fn case() {}

fn main() {}
