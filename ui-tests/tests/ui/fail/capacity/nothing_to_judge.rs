use perf_runtime::perf_test;

#[perf_test(capacity(rate = 50..=500))]
async fn case() {}

fn main() {}
