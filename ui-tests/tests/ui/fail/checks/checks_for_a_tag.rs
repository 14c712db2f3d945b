use perf_runtime::perf_test;

#[perf_test(check "status is 200" for "cold" > 0.99)]
async fn case() {}

fn main() {}
