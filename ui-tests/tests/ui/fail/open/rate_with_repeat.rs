use perf_runtime::perf_test;

#[perf_test(rate = 100, repeat = 1000)]
async fn case() {}

fn main() {}
