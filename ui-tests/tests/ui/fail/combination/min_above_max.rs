use perf_runtime::perf_test;

#[perf_test(max < "10ms", min < "50ms")]
async fn case() {}

fn main() {}
