use perf_runtime::perf_test;

#[perf_test(cpu < "150%")]
async fn case() {}

fn main() {}
