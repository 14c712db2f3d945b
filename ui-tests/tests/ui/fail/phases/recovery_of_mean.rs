use perf_runtime::perf_test;

#[perf_test(rate = 50, stages = [("peak", "10s", 600)], mean < "200ms", recovery of mean in "peak" < "60s")]
async fn case() {}

fn main() {}
