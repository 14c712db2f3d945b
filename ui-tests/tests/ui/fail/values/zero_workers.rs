use perf_runtime::perf_test;

#[perf_test(workers = 0)]
async fn case() {}

fn main() {}
