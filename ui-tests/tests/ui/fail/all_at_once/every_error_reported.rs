use perf_runtime::perf_test;

#[perf_test(wrokers = 4, repeat = 0, p95 > "200ms", error_rate < 2.0, duration = "soon")]
fn case<T>(x: u8) {}

fn main() {}
