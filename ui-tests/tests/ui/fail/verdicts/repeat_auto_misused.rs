use perf_runtime::perf_test;

// Only a maximum: nothing the looks could settle.
#[perf_test(repeat = "auto", max < "10ms")]
async fn nothing_to_settle() {}

#[perf_test(repeat = "auto", rate = 100, duration = "5s", p95 < "10ms")]
async fn open_model() {}

#[perf_test(repeat = "sometimes", p95 < "10ms")]
async fn not_auto() {}

#[perf_test(repeat = 100, max_repeat = 1000, p95 < "10ms")]
async fn a_cap_without_auto() {}

#[perf_test(repeat = "auto", repeat = 10, p95 < "10ms")]
async fn twice() {}

fn main() {}
