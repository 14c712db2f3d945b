//! The showcase's Lambda function, a real `lambda_runtime` function: it
//! prices an order. The local stack runs it as local processes attached to
//! cargo-lambda; on AWS it is deployed with `cargo lambda build` /
//! `cargo lambda deploy orders-fn`.
//!
//! Event: `{"order": 42, "items": 3, "work_ms": 20, "io_ms": 10,
//! "fail": "out of stock", "leak_kb": 64}` (all optional).
//!
//! - `work_ms`: CPU work, in milliseconds **at one full vCPU**. Lambda gives
//!   a function CPU in proportion to its memory, one vCPU at 1,769 MB; a
//!   local process always has a whole core, so below 1,769 MB this function
//!   stretches its CPU work by `1769 / memory` to behave as it would on
//!   Lambda. Without this the memory sweep would show the same duration at
//!   every size.
//! - `io_ms`: waiting on a dependency (not scaled: memory buys no I/O).
//! - `fail`: fail with this message; `leak_kb`: keep this much per event
//!   (a leak, for leak detection).
//!
//! Initialisation builds a price table (and sleeps `INIT_MS`, default 150,
//! standing in for loading configuration and SDK clients): the cold start.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use lambda_runtime::{service_fn, Error, LambdaEvent};
use serde_json::{json, Value};

static LEAKED: Mutex<Vec<Vec<u8>>> = Mutex::new(Vec::new());

fn memory_mb() -> f64 {
    std::env::var("AWS_LAMBDA_FUNCTION_MEMORY_SIZE")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1769.0)
}

/// Busy CPU for `ms` at one vCPU, stretched below 1,769 MB.
fn cpu_work(ms: u64) -> u64 {
    let share = (memory_mb() / 1769.0).min(1.0);
    let until = Instant::now() + Duration::from_millis(ms).div_f64(share);
    let mut x = 0u64;
    while Instant::now() < until {
        x = x
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
    }
    x
}

async fn handle(prices: &[u64], event: LambdaEvent<Value>) -> Result<Value, Error> {
    let e = &event.payload;
    let field = |name: &str| e.get(name).and_then(Value::as_u64).unwrap_or(0);
    let (order, items) = (field("order"), field("items").max(1));
    let noise = cpu_work(field("work_ms"));
    if field("io_ms") > 0 {
        tokio::time::sleep(Duration::from_millis(field("io_ms"))).await;
    }
    if field("leak_kb") > 0 {
        LEAKED
            .lock()
            .unwrap()
            .push(vec![1u8; field("leak_kb") as usize * 1024]);
    }
    if let Some(message) = e.get("fail").and_then(Value::as_str) {
        return Err(message.into());
    }
    let total: u64 = (0..items)
        .map(|i| prices[((order + i) % prices.len() as u64) as usize])
        .sum();
    Ok(json!({
        "order": order,
        "total_cents": total,
        "pid": std::process::id(),
        "checksum": noise % 1000,
    }))
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    let init_ms = std::env::var("INIT_MS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(150);
    std::thread::sleep(Duration::from_millis(init_ms));
    let prices: &'static [u64] = Box::leak((0..10_000).map(|i| 199 + (i * 37) % 5_000).collect());
    lambda_runtime::run(service_fn(move |event| handle(prices, event))).await
}
