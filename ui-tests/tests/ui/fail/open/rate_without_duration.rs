use perf_runtime::perf_test;

#[perf_test(rate = 100)]
async fn case() {}

fn main() {}
