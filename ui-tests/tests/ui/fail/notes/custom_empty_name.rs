use perf_runtime::perf_test;

#[perf_test(mean of "" < 1.0)]
async fn case() {}

fn main() {}
