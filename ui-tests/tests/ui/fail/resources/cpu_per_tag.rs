use perf_runtime::perf_test;

#[perf_test(cpu for "cold" < "80%")]
async fn case() {}

fn main() {}
