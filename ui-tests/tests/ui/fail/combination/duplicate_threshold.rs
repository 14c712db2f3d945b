use perf_runtime::perf_test;

#[perf_test(p95 < "200ms", p95 <= "300ms")]
async fn case() {}

fn main() {}
