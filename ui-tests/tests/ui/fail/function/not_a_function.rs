use perf_runtime::perf_test;

#[perf_test(repeat = 10)]
struct NotAFunction;

fn main() {}
