use perf_runtime::perf_test;

#[perf_test(rate = 50, stages = [("baseline", "5s", 50), ("peak", "10s", 600)], cpu in "peak" < "50%")]
async fn case() {}

fn main() {}
