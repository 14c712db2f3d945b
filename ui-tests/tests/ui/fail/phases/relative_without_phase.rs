use perf_runtime::perf_test;

#[perf_test(rate = 50, stages = [("peak", "10s", 600)], p95 < "200ms", mean < 1.5 * "peak")]
async fn case() {}

fn main() {}
