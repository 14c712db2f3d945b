use perf_runtime::perf_test;

#[perf_test(stages = "30s:100")]
async fn case() {}

fn main() {}
