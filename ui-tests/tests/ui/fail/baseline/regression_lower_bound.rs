use perf_runtime::perf_test;

#[perf_test(baseline = "v1", p95 regression > "10%")]
async fn case() {}

fn main() {}
