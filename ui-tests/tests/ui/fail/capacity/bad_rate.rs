use perf_runtime::perf_test;

#[perf_test(capacity(rate = 50..=500), p95 < "50ms", capacity >= "600/day")]
async fn case() {}

fn main() {}
