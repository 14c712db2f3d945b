use perf_runtime::perf_test;

#[perf_test(repeat = 100, runs = 1000, baseline = "v1", regression < "10%")]
async fn case() {}

fn main() {}
