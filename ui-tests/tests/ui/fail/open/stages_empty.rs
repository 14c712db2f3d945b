use perf_runtime::perf_test;

#[perf_test(rate = 10, stages = [])]
async fn case() {}

fn main() {}
