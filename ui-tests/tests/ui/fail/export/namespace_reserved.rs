use perf_runtime::perf_test;

#[perf_test(namespace = "AWS/Lambda")]
async fn case() {}

fn main() {}
