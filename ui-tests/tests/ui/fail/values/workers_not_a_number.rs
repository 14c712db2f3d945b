use perf_runtime::perf_test;

#[perf_test(workers = "4")]
async fn case() {}

fn main() {}
