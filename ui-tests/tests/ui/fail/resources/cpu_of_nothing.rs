use perf_runtime::perf_test;

#[perf_test(cpu of "" < "70%")]
async fn case() {}

fn main() {}
