use perf_runtime::perf_test;

#[perf_test(bytes_per_iter < "4096")]
async fn case() {}

fn main() {}
