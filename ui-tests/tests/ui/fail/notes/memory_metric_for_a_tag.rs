use perf_runtime::perf_test;

#[perf_test(peak_heap for "cold" < "1MB")]
async fn case() {}

fn main() {}
