use perf_runtime::perf_test;

#[perf_test(p(100.5) < "1s")]
async fn case() {}

fn main() {}
