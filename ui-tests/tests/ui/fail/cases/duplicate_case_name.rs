use perf_runtime::perf_test;

#[perf_test(repeat = 10)]
#[case::small(1)]
#[case::small(2)]
async fn put(size: usize) {}

fn main() {}
