use perf_runtime::perf_test;

#[perf_test(cpu_profile = "fast")]
async fn case() {}

fn main() {}
