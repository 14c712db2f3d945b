use perf_runtime::perf_test;

#[perf_test(rate = 50, stages = [("peak", "5s", 600), ("calm", "5s", 50), ("peak", "5s", 600)], p95 < "200ms")]
async fn case() {}

fn main() {}
