use perf_runtime::perf_test;

#[perf_test(baseline = "v1", throughput regression < "10%")]
async fn case() {}

fn main() {}
