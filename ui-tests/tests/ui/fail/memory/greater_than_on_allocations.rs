use perf_runtime::perf_test;

#[perf_test(allocs_per_iter > 3)]
async fn case() {}

fn main() {}
