use perf_runtime::perf_test;

#[perf_test(capacity(hold = "10s"), p95 < "50ms")]
async fn case() {}

fn main() {}
