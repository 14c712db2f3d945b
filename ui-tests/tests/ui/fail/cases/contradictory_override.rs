use perf_runtime::perf_test;

#[perf_test(repeat = 10, p95 < "200ms")]
#[case::small(1; p99 < "100ms")]
async fn put(size: usize) {}

fn main() {}
