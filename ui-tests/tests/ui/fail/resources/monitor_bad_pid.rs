use perf_runtime::perf_test;

#[perf_test(monitor = "name:orders-fn,pid:x")]
async fn case() {}

fn main() {}
