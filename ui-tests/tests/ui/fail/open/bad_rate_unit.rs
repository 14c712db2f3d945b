use perf_runtime::perf_test;

#[perf_test(rate = "500/day", duration = "1m")]
async fn case() {}

fn main() {}
