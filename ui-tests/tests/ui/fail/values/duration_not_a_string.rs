use perf_runtime::perf_test;

#[perf_test(duration = 30)]
async fn case() {}

fn main() {}
