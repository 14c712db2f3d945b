//! A Lambda function for the AWS behaviour tests, built with
//! `lambda_runtime` and run locally under cargo-lambda by the tests.
//!
//! Its payload says what to do (all optional):
//! `{"sleep_ms": 50, "fail": "no stock", "leak_kb": 256}`. It answers with
//! its process id, its memory size and how many events this process has
//! handled, so tests can see which execution environment ran them.
//! `INIT_SLEEP_MS` makes its initialisation (the cold start) that long.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Mutex;
use std::time::Duration;

use lambda_runtime::{service_fn, Error, LambdaEvent};
use serde_json::{json, Value};

static HANDLED: AtomicU64 = AtomicU64::new(0);
static LEAKED: Mutex<Vec<Vec<u8>>> = Mutex::new(Vec::new());

async fn handle(event: LambdaEvent<Value>) -> Result<Value, Error> {
    let p = event.payload;
    let handled = HANDLED.fetch_add(1, Relaxed) + 1;
    if let Some(ms) = p.get("sleep_ms").and_then(Value::as_u64) {
        tokio::time::sleep(Duration::from_millis(ms)).await;
    }
    if let Some(kb) = p.get("leak_kb").and_then(Value::as_u64) {
        // Touched, so it is resident.
        LEAKED.lock().unwrap().push(vec![1u8; kb as usize * 1024]);
    }
    if let Some(message) = p.get("fail").and_then(Value::as_str) {
        return Err(message.into());
    }
    Ok(json!({
        "pid": std::process::id(),
        "memory_mb": std::env::var("AWS_LAMBDA_FUNCTION_MEMORY_SIZE").ok(),
        "handled": handled,
    }))
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    if let Some(ms) = std::env::var("INIT_SLEEP_MS")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        std::thread::sleep(Duration::from_millis(ms));
    }
    lambda_runtime::run(service_fn(handle)).await
}
