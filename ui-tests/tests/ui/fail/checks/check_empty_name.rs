use perf_runtime::perf_test;

#[perf_test(check "" > 0.99)]
async fn case() {}

fn main() {}
