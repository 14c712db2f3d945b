use perf_runtime::perf_test;

#[perf_test(repeat = 10, sla = "CHECKOUT_SLA")]
async fn case() {}

fn main() {}
