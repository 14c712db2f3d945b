use perf_runtime::perf_test;

#[perf_test(worker_threads = 100000)]
async fn case() {}

fn main() {}
