use perf_runtime::perf_test;

#[perf_test(cpu > "50%")]
async fn case() {}

fn main() {}
