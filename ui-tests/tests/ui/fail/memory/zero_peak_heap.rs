use perf_runtime::perf_test;

#[perf_test(peak_heap < "0B")]
async fn case() {}

fn main() {}
