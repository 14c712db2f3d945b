use perf_runtime::perf_test;

#[perf_test(mean of "consumed_rcu" for "cold" < 1.0)]
async fn case() {}

fn main() {}
