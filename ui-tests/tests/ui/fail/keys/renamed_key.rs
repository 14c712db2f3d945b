use perf_runtime::perf_test;

#[perf_test(concurrency = 50)]
async fn case() {}

fn main() {}
