use perf_runtime::perf_test;

#[perf_test(repeat = 100, regression < "10%")]
async fn case() {}

fn main() {}
