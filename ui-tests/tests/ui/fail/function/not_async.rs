use perf_runtime::perf_test;

#[perf_test(repeat = 10)]
fn case() {}

fn main() {}
