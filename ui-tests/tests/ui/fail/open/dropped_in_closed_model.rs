use perf_runtime::perf_test;

#[perf_test(workers = 4, repeat = 100, dropped < 1)]
async fn case() {}

fn main() {}
