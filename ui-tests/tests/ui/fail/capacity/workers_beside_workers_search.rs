use perf_runtime::perf_test;

#[perf_test(capacity(workers = 1..=512), workers = 50, p95 < "50ms")]
async fn case() {}

fn main() {}
