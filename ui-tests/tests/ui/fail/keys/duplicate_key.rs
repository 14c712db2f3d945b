use perf_runtime::perf_test;

#[perf_test(workers = 2, repeat = 10, workers = 4)]
async fn case() {}

fn main() {}
