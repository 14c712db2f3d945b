use perf_runtime::perf_test;

#[perf_test(crate = "not a path")]
async fn case() {}

fn main() {}
