use perf_runtime::perf_test;

#[perf_test(p95 of "consumed_rcu" < 1.0)]
async fn case() {}

fn main() {}
