//! The showcase's HTTP function: an orders API behind a Lambda function
//! URL, written with `lambda_http`. On the local stack cargo-lambda serves
//! its URL at `<PERF_LAMBDA_RUNTIME_API>/lambda-url/orders-api/…` and hands
//! each request to one of its local processes; on AWS it is deployed with
//! `cargo lambda deploy orders-api --enable-function-url`.
//!
//! - `GET /orders/{id}`: `{"id": "<id>", "status": "priced", "total": …}`
//!   after 2 ms (a read from a table), `404` for an id that is not a
//!   number.
//! - `?flaky=N`: every `N`th request this process serves answers `503`
//!   (a throttled dependency), for tests of a 5xx budget.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Duration;

use lambda_http::{service_fn, Body, Error, Request, RequestExt, Response};

static SERVED: AtomicU64 = AtomicU64::new(0);

fn json(status: u16, body: serde_json::Value) -> Result<Response<Body>, Error> {
    Ok(Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(Body::Text(body.to_string()))?)
}

async fn handle(req: Request) -> Result<Response<Body>, Error> {
    let n = SERVED.fetch_add(1, Relaxed) + 1;
    let flaky = req
        .query_string_parameters_ref()
        .and_then(|q| q.first("flaky"))
        .and_then(|v| v.parse::<u64>().ok())
        .filter(|&every| every > 0);
    if flaky.is_some_and(|every| n.is_multiple_of(every)) {
        return json(503, serde_json::json!({ "error": "throttled" }));
    }
    // The raw path, with or without the function URL's prefix.
    let path = req.uri().path().to_owned();
    let id = path.rsplit_once("/orders/").map(|(_, id)| id.to_owned());
    match id.as_deref().map(str::parse::<u64>) {
        Some(Ok(id)) => {
            tokio::time::sleep(Duration::from_millis(2)).await;
            json(
                200,
                serde_json::json!({ "id": id.to_string(), "status": "priced", "total": id * 3 }),
            )
        }
        _ => json(
            404,
            serde_json::json!({ "error": format!("no order at {path}") }),
        ),
    }
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_http::run(service_fn(handle)).await
}
