use perf_runtime::perf_test;

#[perf_test(repeat = 10, checks > 0.99, check "status is 200" >= "99.9%", checks of "body has id" > 0.9)]
async fn checks_are_thresholds() {}

fn main() {}
