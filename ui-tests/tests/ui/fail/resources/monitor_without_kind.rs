use perf_runtime::perf_test;

#[perf_test(monitor = "orders-fn")]
async fn case() {}

fn main() {}
