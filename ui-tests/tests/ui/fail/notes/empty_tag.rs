use perf_runtime::perf_test;

#[perf_test(p95 for "" < "1s")]
async fn case() {}

fn main() {}
