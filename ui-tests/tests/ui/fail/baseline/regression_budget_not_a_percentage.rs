use perf_runtime::perf_test;

#[perf_test(baseline = "v1", regression < "ten percent")]
async fn case() {}

fn main() {}
