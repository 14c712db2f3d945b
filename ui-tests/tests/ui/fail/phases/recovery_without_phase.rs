use perf_runtime::perf_test;

#[perf_test(rate = 50, stages = [("peak", "10s", 600)], p95 < "200ms", recovery < "60s")]
async fn case() {}

fn main() {}
