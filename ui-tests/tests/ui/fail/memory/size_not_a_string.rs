use perf_runtime::perf_test;

#[perf_test(peak_heap < 100)]
async fn case() {}

fn main() {}
