use perf_runtime::perf_test;

#[perf_test(publish = cloudwatch)]
async fn case() {}

fn main() {}
