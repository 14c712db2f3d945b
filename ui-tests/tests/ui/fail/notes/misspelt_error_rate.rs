use perf_runtime::perf_test;

#[perf_test(eror_rate < 0.1)]
async fn case() {}

fn main() {}
