use perf_runtime::perf_test;

#[perf_test(baseline = "../v1")]
async fn case() {}

fn main() {}
