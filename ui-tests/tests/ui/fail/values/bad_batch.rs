use perf_runtime::perf_test;

#[perf_test(repeat = 100, batch = "sometimes")]
async fn not_a_batch_setting() {}

#[perf_test(repeat = 100, batch = 0)]
async fn empty_batch() {}

#[perf_test(repeat = 100, batch = 20_000)]
async fn batch_over_the_limit() {}

fn main() {}
