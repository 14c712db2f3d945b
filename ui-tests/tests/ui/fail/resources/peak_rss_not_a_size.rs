use perf_runtime::perf_test;

#[perf_test(peak_rss < 512)]
async fn case() {}

fn main() {}
