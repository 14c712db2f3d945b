//! Load-testing an HTTP service of your own: the service starts in the
//! test's `setup` (on the test's runtime, so it lives for the whole run),
//! each worker gets a keep-alive connection of its own, think time is not
//! latency, and two scenarios (browsing at a fixed arrival rate while
//! checkout runs a pool of workers) are judged each on its own thresholds.
//!
//! The service is a small hyper server on 127.0.0.1 whose handlers wait a
//! little, as a call to a table would: `GET /items/{id}` 2 ms, `POST
//! /orders` 5 ms.

use std::convert::Infallible;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::Duration;

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::client::conn::http1::SendRequest;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use perf_runtime::prelude::*;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Mutex;

type Error = Box<dyn std::error::Error + Send + Sync>;

/// What the service served, to check the load against.
#[derive(Default)]
struct Served {
    items: AtomicU64,
    orders: AtomicU64,
}

/// The service under test, running on 127.0.0.1.
struct Service {
    port: u16,
    server: tokio::task::JoinHandle<()>,
}

async fn handle(
    req: Request<Incoming>,
    served: Arc<Served>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let path = req.uri().path().to_owned();
    let response = match (req.method(), path.strip_prefix("/items/")) {
        (&Method::GET, Some(id)) => {
            tokio::time::sleep(Duration::from_millis(2)).await;
            served.items.fetch_add(1, Relaxed);
            Response::new(Full::new(Bytes::from(format!(
                r#"{{"id":"{id}","stock":3}}"#
            ))))
        }
        (&Method::POST, None) if path == "/orders" => {
            let order = req
                .into_body()
                .collect()
                .await
                .map(|b| b.to_bytes())
                .unwrap_or_default();
            tokio::time::sleep(Duration::from_millis(5)).await;
            served.orders.fetch_add(1, Relaxed);
            let mut r = Response::new(Full::new(order));
            *r.status_mut() = StatusCode::CREATED;
            r
        }
        _ => {
            let mut r = Response::new(Full::new(Bytes::from_static(b"not found")));
            *r.status_mut() = StatusCode::NOT_FOUND;
            r
        }
    };
    Ok(response)
}

async fn start_service_counting(served: Arc<Served>) -> Service {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a port on 127.0.0.1");
    let port = listener.local_addr().expect("bound").port();
    let server = tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let served = served.clone();
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |req| handle(req, served.clone()));
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    Service { port, server }
}

async fn start_service() -> Service {
    start_service_counting(Arc::default()).await
}

async fn stop_service(service: Arc<Service>) {
    service.server.abort();
}

/// A worker's keep-alive HTTP/1.1 connection to the service.
struct Client {
    send: Mutex<SendRequest<Full<Bytes>>>,
}

async fn connect(_worker: usize, service: Arc<Service>) -> Client {
    let stream = TcpStream::connect(("127.0.0.1", service.port))
        .await
        .expect("the service listens");
    stream.set_nodelay(true).expect("TCP_NODELAY");
    let (send, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .expect("an HTTP/1.1 handshake");
    tokio::spawn(connection);
    Client {
        send: Mutex::new(send),
    }
}

impl Client {
    /// Sends a request and reads the whole body; a status other than
    /// `expect` is an error.
    async fn call(
        &self,
        method: Method,
        path: &str,
        body: &'static str,
        expect: StatusCode,
    ) -> Result<Bytes, Error> {
        let request = Request::builder()
            .method(method)
            .uri(path)
            .header(hyper::header::HOST, "127.0.0.1")
            .body(Full::new(Bytes::from_static(body.as_bytes())))?;
        let mut send = self.send.lock().await;
        send.ready().await?;
        let response = send.send_request(request).await?;
        let status = response.status();
        let body = response.into_body().collect().await?.to_bytes();
        if status != expect {
            return Err(format!("{path}: HTTP {status}").into());
        }
        Ok(body)
    }
}

/// One user reading items: every iteration a GET over the worker's own
/// connection, then 50 ms of think time that is not latency (a sleep in
/// the body would make p95 over 50 ms; the limit is 20 ms).
#[perf_test(
    workers = 4,
    duration = "3s",
    setup = start_service,
    per_worker = connect,
    teardown = stop_service,
    p95 < "20ms",
    error_rate < 0.01
)]
async fn get_item_with_think_time(
    ctx: &Ctx,
    _service: &Service,
    client: &Client,
) -> Result<(), Error> {
    let id = ctx.iteration() % 100;
    let item = client
        .call(Method::GET, &format!("/items/{id}"), "", StatusCode::OK)
        .await?;
    if !item.starts_with(format!(r#"{{"id":"{id}""#).as_bytes()) {
        return Err(format!("item {id}: unexpected body {item:?}").into());
    }
    ctx.think(Duration::from_millis(50)).await;
    Ok(())
}

/// Browsing at 80 arrivals/s while checkout runs 6 workers that think
/// 50 ms between orders, for 3 s, each with its own thresholds; the
/// service sees exactly the requests the two scenarios counted.
#[test]
fn browse_and_checkout_at_the_same_time() {
    let served = Arc::new(Served::default());
    let counts = served.clone();
    let report =
        Scenarios::with_setup("http_service::shop", move || start_service_counting(counts))
            .teardown(stop_service)
            .scenario_per_worker(
                PerfTest::new("browse")
                    .rate(80.0)
                    .duration(Duration::from_secs(3))
                    .workers(10)
                    .threshold(Threshold::p(95.0).lt(Duration::from_millis(30)))
                    .threshold(Threshold::error_rate().lt(0.01)),
                connect,
                |ctx, _service, client: Arc<Client>| async move {
                    let path = format!("/items/{}", ctx.iteration() % 100);
                    client
                        .call(Method::GET, &path, "", StatusCode::OK)
                        .await
                        .map(drop)
                },
            )
            .scenario_per_worker(
                PerfTest::new("checkout")
                    .workers(6)
                    .duration(Duration::from_secs(3))
                    .threshold(Threshold::p(95.0).lt(Duration::from_millis(50)))
                    .threshold(Threshold::error_rate().lt(0.01)),
                connect,
                |ctx, _service, client: Arc<Client>| async move {
                    let order = client
                        .call(
                            Method::POST,
                            "/orders",
                            r#"{"item":"42","quantity":1}"#,
                            StatusCode::CREATED,
                        )
                        .await?;
                    if order.is_empty() {
                        return Err::<(), Error>("an empty order came back".into());
                    }
                    ctx.think(Duration::from_millis(50)).await;
                    Ok(())
                },
            )
            .run()
            .expect("the scenarios ran");
    report.assert_passed();
    let browse = report.scenario("browse").expect("browse ran");
    let checkout = report.scenario("checkout").expect("checkout ran");
    assert_eq!(served.items.load(Relaxed), browse.iterations);
    assert_eq!(served.orders.load(Relaxed), checkout.iterations);
    // 6 workers, each order 5 ms plus 50 ms of thought: at most ~109/s.
    assert!(checkout.throughput < 115.0, "{}", checkout.throughput);
}
