use perf_runtime::perf_test;

#[perf_test(repeat = 0)]
async fn case() {}

fn main() {}
