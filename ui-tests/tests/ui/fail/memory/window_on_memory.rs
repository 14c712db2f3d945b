use perf_runtime::perf_test;

#[perf_test(duration = "1m", peak_heap < "1GB" per "10s")]
async fn case() {}

fn main() {}
