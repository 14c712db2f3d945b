use perf_runtime::perf_test;

#[perf_test(p96 < "200ms")]
async fn case() {}

fn main() {}
