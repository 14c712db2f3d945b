use perf_runtime::perf_test;

#[perf_test(throughput < 1000)]
async fn case() {}

fn main() {}
