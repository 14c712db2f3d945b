use perf_runtime::perf_test;

#[perf_test(rate = 50, stages = [("baseline", "5s", 50), ("peak", "10s", 600)], p95 < "200ms", recovery in "spike" < "60s")]
async fn case() {}

fn main() {}
