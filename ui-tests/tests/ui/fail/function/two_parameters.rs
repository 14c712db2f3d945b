use perf_runtime::perf_test;

#[perf_test(repeat = 10)]
async fn case(ctx: perf_runtime::Ctx, n: u32) {}

fn main() {}
