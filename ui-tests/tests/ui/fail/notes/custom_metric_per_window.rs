use perf_runtime::perf_test;

#[perf_test(p95 of "init" < "1s" per "10s")]
async fn case() {}

fn main() {}
