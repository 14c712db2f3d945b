use perf_runtime::perf_test;

#[perf_test(baseline = "v1", regression < 1e999)]
async fn case() {}

fn main() {}
