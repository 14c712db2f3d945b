use perf_runtime::perf_test;

use perf_runtime::Ctx;

#[perf_test(repeat = 100, p95 for "cold" < "1s", p95 for "warm" < "50ms", error_rate for "warm" < 0.01, throttle_rate < 0.001, timeout_rate <= "1%")]
async fn tags_and_classes(ctx: &Ctx) -> Result<(), String> {
    ctx.tag("warm");
    ctx.record("consumed_rcu", 0.5);
    Ok(())
}

fn main() {}
