use perf_runtime::perf_test;

#[perf_test(rate = 10, stages = [("30 sec", 100)])]
async fn case() {}

fn main() {}
