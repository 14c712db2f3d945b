use perf_runtime::perf_test;

#[perf_test(repeat = 100, batch = -1)]
async fn negative_batch() {}

#[perf_test(workers = -2, repeat = 100)]
async fn negative_workers() {}

#[perf_test(repeat = 99_999_999_999_999_999_999)]
async fn repeat_too_large() {}

fn main() {}
