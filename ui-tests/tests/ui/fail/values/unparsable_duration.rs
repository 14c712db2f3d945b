use perf_runtime::perf_test;

#[perf_test(duration = "fast")]
async fn case() {}

fn main() {}
