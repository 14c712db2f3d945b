use perf_runtime::perf_test;

#[perf_test(wrokers = 4)]
async fn case() {}

fn main() {}
