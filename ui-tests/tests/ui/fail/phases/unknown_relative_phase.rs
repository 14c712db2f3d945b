use perf_runtime::perf_test;

#[perf_test(rate = 50, stages = [("baseline", "5s", 50), ("peak", "10s", 600)], p95 < "200ms", mean in "peak" < 1.5 * "baseline2")]
async fn case() {}

fn main() {}
