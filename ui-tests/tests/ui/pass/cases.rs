use perf_runtime::perf_test;

use std::time::Duration;

use perf_runtime::{Ctx, PerformanceSLA};

const SLA: PerformanceSLA = PerformanceSLA::new().max_p95_latency(Duration::from_millis(50));

#[perf_test(repeat = 1000, p95 < "50ms")]
#[case::small(100)]
#[case::large(10_000; p95 < "200ms", repeat = 100)]
#[case(7)]
async fn put(size: usize) {
    let _ = size;
}

#[perf_test(repeat = 10, sla = SLA, validate = positive)]
#[case::ok(2, 4)]
async fn double(ctx: &Ctx, n: i64) -> Result<i64, String> {
    let _ = ctx.iteration();
    Ok(n * 2)
}

fn positive(v: &i64) -> bool {
    *v > 0
}

fn main() {}
