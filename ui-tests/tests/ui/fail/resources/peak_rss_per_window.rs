use perf_runtime::perf_test;

#[perf_test(peak_rss < "512MB" per "10s")]
async fn case() {}

fn main() {}
