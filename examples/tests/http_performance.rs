//! HTTP performance as k6 users write it, with `perf_runtime::http`: every
//! request's phases under k6's names (`http_req_waiting`, …), checks,
//! statuses and error classes, and thresholds on all of them.
//!
//! Two systems under test, both on 127.0.0.1:
//!
//! - a small axum service the test starts (`GET /items/{id}` waits 1 ms,
//!   `POST /orders` 3 ms and throttles every 100th order with a 503);
//! - the showcase's function URL, `src/bin/orders-api.rs` (`lambda_http`),
//!   served by cargo-lambda at `/lambda-url/orders-api/` on the local stack
//!   (`scripts/aws-stack -- cargo test -p perf-examples --test
//!   http_performance`; without the stack those tests are skipped).

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::LazyLock;
use std::time::Duration;

use axum::extract::Path;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use perf_runtime::aws::lambda::LocalFunction;
use perf_runtime::aws::{self, Stack};
use perf_runtime::http::{Client, HttpError};
use perf_runtime::prelude::*;
use serde_json::{json, Value};

/// The service's base URL; it runs on a thread (and runtime) of its own
/// for the rest of the test process.
static SERVICE: LazyLock<String> = LazyLock::new(start_service);

/// One client for every test: one pool of keep-alive connections.
static CLIENT: LazyLock<Client> = LazyLock::new(Client::new);

fn start_service() -> String {
    static ORDERS: AtomicU64 = AtomicU64::new(0);
    let app = Router::new()
        .route(
            "/items/{id}",
            get(|Path(id): Path<u64>| async move {
                tokio::time::sleep(Duration::from_millis(1)).await;
                Json(json!({ "id": id.to_string(), "stock": 3 }))
            }),
        )
        .route(
            "/orders",
            post(|Json(order): Json<Value>| async move {
                let n = ORDERS.fetch_add(1, Relaxed) + 1;
                if n.is_multiple_of(100) {
                    return (
                        StatusCode::SERVICE_UNAVAILABLE,
                        Json(json!({ "error": "throttled" })),
                    );
                }
                tokio::time::sleep(Duration::from_millis(3)).await;
                (
                    StatusCode::CREATED,
                    Json(json!({ "order": n, "item": order["item"] })),
                )
            }),
        );
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("the service's runtime");
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                .await
                .expect("a port on 127.0.0.1");
            tx.send(listener.local_addr().expect("bound").port())
                .expect("the test waits for the port");
            axum::serve(listener, app).await.expect("the service runs");
        });
    });
    let port = rx.recv().expect("the service started");
    format!("http://127.0.0.1:{port}")
}

/// Closed model: 20 workers browse items for 3 s. Thresholds on the
/// iteration, on one phase (time to first byte) and on the checks.
#[perf_test(workers = 20, duration = "3s", p95 < "50ms", p95 of "http_req_waiting" < "40ms",
            error_rate < 0.001, checks > 0.999, check "item has an id" >= "99.9%")]
async fn browse_items(ctx: &Ctx) -> Result<(), HttpError> {
    CLIENT
        .get(&format!("{}/items/{}", *SERVICE, ctx.iteration() % 1_000))
        .check("status is 200", |r| r.status() == 200)
        .check("item has an id", |r| {
            r.json::<Value>().is_ok_and(|v| v["id"].is_string())
        })
        .send()
        .await?;
    Ok(())
}

/// Open model: orders arrive at 200/s for 3 s whatever the latency (from
/// the scheduled start, corrected for coordinated omission). 1% of them are
/// throttled (503): within the 5xx budget of 5%.
#[perf_test(rate = 200, duration = "3s", workers = 50, p99 < "100ms",
            p95 of "http_req_duration" < "50ms", http_5xx_rate < "5%", error_rate < "5%",
            dropped_rate < 0.01, checks > 0.95)]
async fn place_orders(ctx: &Ctx) -> Result<(), HttpError> {
    CLIENT
        .post(&format!("{}/orders", *SERVICE))
        .json(&json!({ "item": ctx.iteration() % 1_000, "qty": 1 }))
        .check("order accepted", |r| r.status() == 201)
        .send()
        .await
        .map(drop)
}

const ORDERS_API: &str = env!("CARGO_BIN_EXE_orders-api");

/// The function URL's base on the local stack, with two execution
/// environments of `orders-api` attached (dropping the function stops
/// them).
fn function_url(stack: &Stack) -> Option<(LocalFunction, String)> {
    let Stack::Local(local) = stack else {
        eprintln!("function URL tests run on the local stack");
        return None;
    };
    let api = local.lambda_runtime_api.as_deref()?;
    let f = LocalFunction::start(ORDERS_API, "orders-api", api, 2, 1024, &[])
        .expect("orders-api starts");
    Some((
        f,
        format!("{}/lambda-url/orders-api", api.trim_end_matches('/')),
    ))
}

/// The function URL, closed then open model, with a 5xx budget: every
/// 10th request an environment serves is throttled.
#[test]
fn function_url_with_a_5xx_budget() {
    let Some(stack) = aws::stack_or_skip("function_url_with_a_5xx_budget") else {
        return;
    };
    let Some((_function, base)) = function_url(&stack) else {
        return;
    };
    let url = format!("{base}/orders/42?flaky=10");
    let body = url.clone();
    let closed = PerfTest::new("http_performance::function_url_closed")
        .workers(4)
        .repeat(200)
        .threshold(Threshold::p(95.0).lt(Duration::from_millis(500)))
        .threshold(
            Threshold::of("http_req_waiting")
                .p(95.0)
                .lt_duration(Duration::from_millis(400)),
        )
        .threshold(Threshold::class_rate("http_5xx").lt(0.2))
        .threshold(Threshold::error_rate().lt(0.2))
        .threshold(Threshold::checks_of("order is priced").gt(0.99))
        .run(move |_| {
            let url = body.clone();
            async move {
                let r = CLIENT
                    .get(&url)
                    .check("order is priced", |r| {
                        // A throttled answer is the 5xx budget's, not the check's.
                        r.status() == 503
                            || r.json::<Value>().is_ok_and(|v| v["status"] == "priced")
                    })
                    .send()
                    .await;
                r.map(drop)
            }
        })
        .expect("the closed run");
    assert!(closed.passed, "{}", closed.summary());
    // Each environment throttles its every 10th request: 18 to 20 of 200.
    let throttled = closed.error_classes.get("http_5xx").copied().unwrap_or(0);
    assert!((18..=20).contains(&throttled), "{}", closed.summary());
    assert_eq!(
        closed.custom["http_status_503"].sum as u64, throttled,
        "every 5xx is a 503"
    );

    let open = PerfTest::new("http_performance::function_url_open")
        .rate(50.0)
        .duration(Duration::from_secs(3))
        .workers(20)
        .threshold(Threshold::p(99.0).lt(Duration::from_secs(1)))
        .threshold(Threshold::class_rate("http_5xx").lt(0.2))
        .threshold(Threshold::error_rate().lt(0.2))
        .run(move |_| {
            let url = url.clone();
            async move { CLIENT.get(&url).send().await.map(drop) }
        })
        .expect("the open run");
    assert!(open.passed, "{}", open.summary());
    assert!(open.start_delay.is_some());
}
