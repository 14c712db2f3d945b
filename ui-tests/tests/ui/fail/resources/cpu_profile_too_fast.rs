use perf_runtime::perf_test;

#[perf_test(cpu_profile = 5000)]
async fn case() {}

fn main() {}
