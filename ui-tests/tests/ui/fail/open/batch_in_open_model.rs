use perf_runtime::perf_test;

#[perf_test(rate = 100, duration = "5s", batch = 16)]
async fn open_model_batches() {}

fn main() {}
