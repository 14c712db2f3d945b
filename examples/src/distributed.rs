//! The distributed showcase: one perf test definition shared by the
//! load-generator Lambda function (`src/bin/load-generator.rs`) and the
//! test that fans it out (`tests/distributed.rs`).

use std::time::Duration;

use perf_runtime::{Ctx, PerfTest, Threshold};

/// The perf test's name, as the generator and the fan-out know it.
pub const CHECKOUT: &str = "distributed::checkout";

/// The declared load of the whole test: 8 workers, 800 iterations, split
/// over the shards; `count of "orders"` can only reach 800 when every
/// shard's iterations are merged.
pub fn checkout() -> PerfTest {
    PerfTest::new(CHECKOUT)
        .workers(8)
        .repeat(800)
        .threshold(Threshold::p(95.0).lt(Duration::from_millis(200)))
        .threshold(Threshold::error_rate().lt(0.01))
        .threshold(Threshold::of("orders").count().ge(800.0))
}

/// One iteration: parse an order's configuration line and wait 5 ms for
/// a (simulated) downstream call.
pub async fn checkout_body(ctx: Ctx) -> Result<(), String> {
    let line = format!("order={};customer=42;items=3", ctx.iteration());
    crate::parse_config(&line)?;
    tokio::time::sleep(Duration::from_millis(5)).await;
    ctx.count("orders", 1);
    Ok(())
}
