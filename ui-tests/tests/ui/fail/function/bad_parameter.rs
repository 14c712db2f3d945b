use perf_runtime::perf_test;

#[perf_test(repeat = 10)]
async fn case(n: u32) {}

fn main() {}
