use perf_runtime::perf_test;

#[perf_test(p95 < "200xs")]
async fn case() {}

fn main() {}
