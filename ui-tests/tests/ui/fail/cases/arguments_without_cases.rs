use perf_runtime::perf_test;

#[perf_test(repeat = 10)]
async fn put(size: usize) {}

fn main() {}
