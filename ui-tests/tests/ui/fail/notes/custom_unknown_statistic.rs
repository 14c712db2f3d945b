use perf_runtime::perf_test;

#[perf_test(median of "consumed_rcu" < 1.0)]
async fn case() {}

fn main() {}
