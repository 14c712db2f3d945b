//! The measured HTTP client against a real local server (127.0.0.1 only,
//! every load bounded in count): its phases appear and are plausible,
//! statuses and classes are counted exactly, connections are reused or
//! not as asked.

use std::convert::Infallible;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper_util::rt::TokioIo;
use perf_runtime::http::{Client, HttpError};
use perf_runtime::prelude::*;

/// A server on its own thread and runtime: `/ok`, `/slow` (50 ms before
/// answering), `/big` (a 10 MB body), `/flaky` (503 for every 10th
/// request).
fn server() -> u16 {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            tx.send(listener.local_addr().unwrap().port()).unwrap();
            let flaky = Arc::new(AtomicU64::new(0));
            let big = Bytes::from(vec![b'x'; 10 << 20]);
            while let Ok((stream, _)) = listener.accept().await {
                let (flaky, big) = (flaky.clone(), big.clone());
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(
                        move |req: hyper::Request<hyper::body::Incoming>| {
                            let (flaky, big) = (flaky.clone(), big.clone());
                            async move {
                                let mut status = 200;
                                let body = match req.uri().path() {
                                    "/slow" => {
                                        tokio::time::sleep(Duration::from_millis(50)).await;
                                        Bytes::from_static(b"slow")
                                    }
                                    "/big" => big,
                                    "/flaky" => {
                                        if flaky.fetch_add(1, Relaxed) % 10 == 9 {
                                            status = 503;
                                        }
                                        Bytes::from_static(b"maybe")
                                    }
                                    _ => Bytes::from_static(b"ok"),
                                };
                                let mut r = hyper::Response::new(Full::new(body));
                                *r.status_mut() = hyper::StatusCode::from_u16(status).unwrap();
                                Ok::<_, Infallible>(r)
                            }
                        },
                    );
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
    });
    rx.recv().unwrap()
}

fn quiet(name: &str) -> PerfTest {
    PerfTest::new(name)
        .no_report_file()
        .quiet()
        .env_overrides(false)
}

fn p50_ms(report: &Report, metric: &str) -> f64 {
    let m = report
        .custom
        .get(metric)
        .unwrap_or_else(|| panic!("{metric} recorded: {:?}", report.custom.keys()));
    let p50 = m
        .percentiles
        .iter()
        .find(|p| p.percentile == 50.0)
        .expect("p50");
    p50.value_ns as f64 / 1e6
}

fn count(report: &Report, metric: &str) -> f64 {
    report.custom.get(metric).map_or(0.0, |m| m.sum)
}

#[test]
fn phases_appear_and_are_plausible() {
    let port = server();
    let client = Client::builder().pool_size(2).build();
    let url = |path: &str| format!("http://127.0.0.1:{port}{path}");
    let (slow, big, ok) = (url("/slow"), url("/big"), url("/ok"));
    let c = client.clone();
    let report = quiet("http::slow")
        .workers(2)
        .repeat(20)
        .run(move |_| {
            let (c, slow) = (c.clone(), slow.clone());
            async move { c.get(&slow).send().await.map(drop) }
        })
        .unwrap();
    assert_eq!(report.errors, 0, "{}", report.summary());
    // The server waits 50 ms before its first byte.
    assert!(
        p50_ms(&report, "http_req_waiting") >= 50.0,
        "{}",
        report.summary()
    );
    assert!(p50_ms(&report, "http_req_sending") < 5.0);
    assert!(p50_ms(&report, "http_req_duration") >= 50.0);
    // Two workers, a pool of two: two connections, then reuse.
    assert_eq!(
        count(&report, "http_conn_opened"),
        2.0,
        "{:?}",
        report.custom.keys()
    );
    assert_eq!(count(&report, "http_conn_reused"), 18.0);
    assert!(
        !report.custom.contains_key("http_req_dns"),
        "an address is not resolved"
    );
    assert_eq!(
        report.custom["http_req_connecting"].count, 2,
        "connect only on a new connection"
    );
    assert_eq!(count(&report, "http_reqs"), 20.0);
    assert_eq!(count(&report, "http_status_200"), 20.0);

    // A 10 MB body takes longer to receive than a 2-byte one.
    let c = client.clone();
    let big_run = quiet("http::big")
        .repeat(5)
        .run(move |_| {
            let (c, big) = (c.clone(), big.clone());
            async move {
                c.get(&big)
                    .send()
                    .await
                    .map(|r| assert_eq!(r.body().len(), 10 << 20))
            }
        })
        .unwrap();
    let c = client.clone();
    let small = quiet("http::small")
        .repeat(5)
        .run(move |_| {
            let (c, ok) = (c.clone(), ok.clone());
            async move { c.get(&ok).send().await.map(drop) }
        })
        .unwrap();
    assert!(
        p50_ms(&big_run, "http_req_receiving") > 5.0 * p50_ms(&small, "http_req_receiving"),
        "{} vs {}",
        big_run.summary(),
        small.summary()
    );
    assert!(count(&big_run, "http_bytes_received") >= 5.0 * (10 << 20) as f64);

    // A host name is resolved, once per new connection.
    let named = format!("http://localhost:{port}/ok");
    let c = Client::builder().keep_alive(false).build();
    let fresh = quiet("http::fresh")
        .repeat(10)
        .run(move |_| {
            let (c, named) = (c.clone(), named.clone());
            async move { c.get(&named).send().await.map(drop) }
        })
        .unwrap();
    assert_eq!(fresh.errors, 0, "{}", fresh.summary());
    assert_eq!(
        count(&fresh, "http_conn_opened"),
        10.0,
        "no keep-alive: a connection per request"
    );
    assert_eq!(fresh.custom["http_req_dns"].count, 10);
    assert_eq!(fresh.custom["http_req_connecting"].count, 10);
}

#[test]
fn statuses_and_classes_are_counted_exactly() {
    let port = server();
    let url = format!("http://127.0.0.1:{port}/flaky");
    let client = Client::new();
    let report = quiet("http::flaky")
        .workers(4)
        .repeat(1_000)
        .threshold(Threshold::class_rate("http_5xx").lt(0.2))
        .threshold(Threshold::error_rate().lt(0.2))
        .run(move |_| {
            let (c, url) = (client.clone(), url.clone());
            async move { c.get(&url).send().await.map(drop) }
        })
        .unwrap();
    assert_eq!(report.iterations, 1_000);
    assert_eq!(
        report.errors,
        100,
        "every 10th request: {}",
        report.summary()
    );
    assert_eq!(report.error_classes.get("http_5xx"), Some(&100));
    assert_eq!(count(&report, "http_status_503"), 100.0);
    assert_eq!(count(&report, "http_status_200"), 900.0);
    assert!(
        report.passed,
        "http_5xx_rate 0.1 < 0.2: {}",
        report.summary()
    );
}

#[test]
fn transport_failures_are_classed_errors() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    // A port nobody listens on (bound, then closed).
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let c = Client::new();
    let e = rt
        .block_on(c.get(&format!("http://127.0.0.1:{port}/")).send())
        .unwrap_err();
    assert!(matches!(e, HttpError::Connect { .. }), "{e}");
    assert_eq!(e.class(), "http_connect");
    let e = rt
        .block_on(c.get(&format!("https://127.0.0.1:{port}/")).send())
        .unwrap_err();
    assert_eq!(e.class(), "http_connect", "{e}");
    let e = rt.block_on(c.get("ftp://127.0.0.1/").send()).unwrap_err();
    assert_eq!(e.class(), "http_invalid", "{e}");
    let slow = server();
    let e = rt
        .block_on(
            c.get(&format!("http://127.0.0.1:{slow}/slow"))
                .timeout(Duration::from_millis(10))
                .send(),
        )
        .unwrap_err();
    assert_eq!(e.class(), "http_timeout", "{e}");
}

#[test]
fn checks_are_counted_exactly_and_judged() {
    let port = server();
    let url = format!("http://127.0.0.1:{port}/flaky");
    let client = Client::new();
    let run = |name: &str, client: Client, threshold: Threshold| {
        let url = url.clone();
        quiet(name)
            .workers(4)
            .repeat(1_000)
            .threshold(Threshold::error_rate().lt(0.2))
            .threshold(threshold)
            .run(move |_| {
                let (c, url) = (client.clone(), url.clone());
                async move {
                    let r = c
                        .get(&url)
                        .check("status is 200", |r| r.status() == 200)
                        .check("body says maybe", |r| r.text() == "maybe")
                        .send()
                        .await;
                    // A check on anything, outside a request.
                    perf_runtime::http::check("ran", true);
                    r.map(drop)
                }
            })
            .unwrap()
    };
    // Every 10th response is a 503 (whose body still says "maybe").
    let report = run("http::checks", client.clone(), Threshold::checks().gt(0.99));
    let status = &report.custom["check:status is 200"];
    assert_eq!((status.count, status.sum), (1_000, 900.0));
    let body = &report.custom["check:body says maybe"];
    assert_eq!((body.count, body.sum), (1_000, 1_000.0));
    let all = &report.custom["checks"];
    assert_eq!((all.count, all.sum), (3_000, 2_900.0));
    // A failed check does not fail its iteration: the 503s do.
    assert_eq!(report.errors, 100);
    // 2,900 of 3,000 is 96.7%: `checks > 0.99` fails, with the counts.
    assert!(!report.passed, "{}", report.summary());
    let summary = report.summary();
    assert!(
        summary.contains("96.67% passed  ✓ 2900  ✗ 100"),
        "{summary}"
    );
    assert!(
        summary.contains("✗ status is 200: 90.00% (900 of 1000)"),
        "{summary}"
    );
    assert!(
        summary.contains("✓ body says maybe: 100.00% (1000 of 1000)"),
        "{summary}"
    );
    assert!(summary.contains("(2900 of 3000 passed)"), "{summary}");

    let report = run(
        "http::checks_named",
        client,
        Threshold::checks_of("status is 200").gt(0.85),
    );
    assert!(report.passed, "900 of 1000 > 0.85: {}", report.summary());

    // Failing iterations on failed checks: the 503s fail as http_5xx
    // (their status first), nothing else fails.
    let strict = Client::builder()
        .fail_on(|_| false)
        .fail_on_check(true)
        .build();
    let report = run("http::checks_fail", strict, Threshold::checks().gt(0.5));
    assert_eq!(
        report.error_classes.get("http_check"),
        Some(&100),
        "{}",
        report.summary()
    );
    assert_eq!(report.errors, 100);
}

/// The attribute's check thresholds reach the judge: 90% of statuses are
/// 200 against a limit of 85%.
#[perf_test(workers = 2, repeat = 100, error_rate < 0.2, checks > 0.8, check "status is 200" > 0.85)]
async fn check_thresholds_in_the_attribute() -> Result<(), HttpError> {
    static PORT: std::sync::LazyLock<u16> = std::sync::LazyLock::new(server);
    static CLIENT: std::sync::LazyLock<Client> = std::sync::LazyLock::new(Client::new);
    CLIENT
        .get(&format!("http://127.0.0.1:{}/flaky", *PORT))
        .check("status is 200", |r| r.status() == 200)
        .send()
        .await
        .map(drop)
}
