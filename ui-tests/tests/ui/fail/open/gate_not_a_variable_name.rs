use perf_runtime::perf_test;

#[perf_test(gate = "load test")]
async fn case() {}

fn main() {}
