use perf_runtime::perf_test;

#[perf_test(namespace = "")]
async fn case() {}

fn main() {}
