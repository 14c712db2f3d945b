use perf_runtime::perf_test;

#[perf_test(error_rate < "150%")]
async fn case() {}

fn main() {}
