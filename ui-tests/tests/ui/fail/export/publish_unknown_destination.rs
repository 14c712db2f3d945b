use perf_runtime::perf_test;

#[perf_test(publish = "cloudwatc")]
async fn case() {}

fn main() {}
