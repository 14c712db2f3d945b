use perf_runtime::perf_test;

#[perf_test(repeat = 10)]
#[test]
async fn case() {}

fn main() {}
