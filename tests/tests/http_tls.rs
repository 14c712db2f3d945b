//! The measured HTTP client over TLS and HTTP/2, and SigV4 signing,
//! against real local servers (127.0.0.1 only, every load bounded in
//! count): a self-signed server trusted or not, HTTP/2 by ALPN and by
//! prior knowledge (h2c), and a server that recomputes each request's
//! signature.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::{TokioExecutor, TokioIo};
use perf_runtime::http::{Client, Signer};
use perf_runtime::prelude::*;

type Req = hyper::Request<hyper::body::Incoming>;

/// `/slow` answers after 50 ms, anything else at once; the body says the
/// request's HTTP version.
async fn answer(req: Req) -> Result<hyper::Response<Full<Bytes>>, Infallible> {
    if req.uri().path() == "/slow" {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let body = format!("{:?}", req.version());
    Ok(hyper::Response::new(Full::new(Bytes::from(body))))
}

/// Runs `serve` on each accepted connection, on a server thread of its
/// own; returns the port.
fn serve<F, Fut>(serve: F) -> u16
where
    F: Fn(tokio::net::TcpStream) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
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
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(serve(stream));
            }
        });
    });
    rx.recv().unwrap()
}

/// A TLS server with a fresh self-signed certificate for `localhost` and
/// 127.0.0.1, offering `h2` and `http/1.1`; its port and certificate
/// (PEM).
fn tls_server() -> (u16, String) {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let cert =
        rcgen::generate_simple_self_signed(vec!["localhost".into(), "127.0.0.1".into()]).unwrap();
    let pem = cert.cert.pem();
    let key = rustls::pki_types::PrivateKeyDer::Pkcs8(cert.signing_key.serialize_der().into());
    let mut config = rustls::ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(vec![cert.cert.der().clone()], key)
        .unwrap();
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let port = serve(move |stream| {
        let acceptor = acceptor.clone();
        async move {
            // A client that distrusts the certificate ends the handshake.
            let Ok(tls) = acceptor.accept(stream).await else {
                return;
            };
            let h2 = tls.get_ref().1.alpn_protocol() == Some(b"h2");
            let io = TokioIo::new(tls);
            let service = hyper::service::service_fn(answer);
            if h2 {
                let _ = hyper::server::conn::http2::Builder::new(TokioExecutor::new())
                    .serve_connection(io, service)
                    .await;
            } else {
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(io, service)
                    .await;
            }
        }
    });
    (port, pem)
}

fn quiet(name: &str) -> PerfTest {
    PerfTest::new(name)
        .no_report_file()
        .quiet()
        .env_overrides(false)
}

fn count(report: &Report, metric: &str) -> f64 {
    report.custom.get(metric).map_or(0.0, |m| m.sum)
}

/// 20 requests from 2 workers; every response's body must be `version`.
fn load(name: &str, client: Client, url: String, version: &'static str) -> Report {
    quiet(name)
        .workers(2)
        .repeat(20)
        .run(move |_| {
            let (c, url) = (client.clone(), url.clone());
            async move {
                let r = c.get(&url).send().await?;
                assert_eq!(r.text(), version);
                Ok::<_, perf_runtime::http::HttpError>(())
            }
        })
        .unwrap()
}

#[test]
fn tls_to_a_self_signed_server_with_http2_by_alpn() {
    let (port, pem) = tls_server();
    let url = format!("https://127.0.0.1:{port}/slow");
    let trusted = Client::builder()
        .root_certificate(&pem)
        .no_platform_roots()
        .build();
    let h2 = load("http::h2_alpn", trusted, url.clone(), "HTTP/2.0");
    assert_eq!(h2.errors, 0, "{}", h2.summary());
    // The streams of both workers share a connection (two at most if both
    // started before the first was up); the TLS handshake is timed once
    // per connection opened.
    let opened = count(&h2, "http_conn_opened");
    assert!((1.0..=2.0).contains(&opened), "{}", h2.summary());
    assert_eq!(count(&h2, "http_conn_reused"), 20.0 - opened);
    assert_eq!(h2.custom["http_req_tls_handshaking"].count as f64, opened);
    assert_eq!(h2.custom["http_req_connecting"].count as f64, opened);
    // On HTTP/2, waiting runs to the response's head: the server's 50 ms.
    let waiting = &h2.custom["http_req_waiting"];
    assert!(waiting.min >= 50e6, "{}", h2.summary());
    // The socket's encrypted bytes: more than the bodies.
    assert!(count(&h2, "http_bytes_received") > 20.0 * 8.0);
    assert!(count(&h2, "http_bytes_sent") > 0.0);

    // HTTP/1.1 only: a connection per worker, each with its handshake.
    let h1 = Client::builder()
        .root_certificate(&pem)
        .no_platform_roots()
        .http1_only()
        .build();
    let h1 = load("http::h1_tls", h1, url.clone(), "HTTP/1.1");
    assert_eq!(h1.errors, 0, "{}", h1.summary());
    assert_eq!(count(&h1, "http_conn_opened"), 2.0);
    assert_eq!(h1.custom["http_req_tls_handshaking"].count, 2);

    // Accepting any certificate also reaches it.
    let any = Client::builder().danger_accept_invalid_certs(true).build();
    let any = load("http::tls_any", any, url.clone(), "HTTP/2.0");
    assert_eq!(any.errors, 0, "{}", any.summary());

    // The platform's roots do not vouch for it: a TLS failure, classed.
    let strict = Client::new();
    let report = quiet("http::tls_untrusted")
        .repeat(3)
        .threshold(Threshold::error_rate().le(1.0))
        .run(move |_| {
            let (c, url) = (strict.clone(), url.clone());
            async move { c.get(&url).send().await.map(drop) }
        })
        .unwrap();
    assert_eq!(
        report.error_classes.get("http_tls"),
        Some(&3),
        "{}",
        report.summary()
    );
    assert!(
        report.summary().contains("certificate"),
        "the reason is shown: {}",
        report.summary()
    );
    assert!(!report.custom.contains_key("http_reqs"));
}

#[test]
fn bad_root_certificate_fails_https_requests_saying_why() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let c = Client::builder()
        .root_certificate("not a certificate")
        .build();
    let e = rt
        .block_on(c.get("https://127.0.0.1:1/").send())
        .unwrap_err();
    assert_eq!(e.class(), "http_invalid");
    assert!(e.to_string().contains("no `BEGIN CERTIFICATE`"), "{e}");
}

#[test]
fn http2_with_prior_knowledge_over_plain_tcp() {
    let port = serve(|stream| async move {
        let _ = hyper::server::conn::http2::Builder::new(TokioExecutor::new())
            .serve_connection(TokioIo::new(stream), hyper::service::service_fn(answer))
            .await;
    });
    let url = format!("http://127.0.0.1:{port}/");
    let c = Client::builder().http2_prior_knowledge().build();
    let report = load("http::h2c", c, url, "HTTP/2.0");
    assert_eq!(report.errors, 0, "{}", report.summary());
    assert!(count(&report, "http_conn_opened") <= 2.0);
    assert!(!report.custom.contains_key("http_req_tls_handshaking"));
}

const KEY_ID: &str = "AKIDPERFTEST";
const SECRET: &str = "perf-test-secret-key";

/// Seconds since 1970 of a SigV4 `x-amz-date` (`20261203T172640Z`).
fn amz_date(text: &str) -> Option<SystemTime> {
    let n = |r: std::ops::Range<usize>| text.get(r)?.parse::<i64>().ok();
    let (y, m, d) = (n(0..4)?, n(4..6)?, n(6..8)?);
    let (hh, mm, ss) = (n(9..11)?, n(11..13)?, n(13..15)?);
    // Days from the civil date (Howard Hinnant's algorithm).
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * ((m + 9) % 12) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let secs = days * 86_400 + hh * 3600 + mm * 60 + ss;
    Some(SystemTime::UNIX_EPOCH + Duration::from_secs(u64::try_from(secs).ok()?))
}

/// Recomputes the request's signature from what arrived (method, URL,
/// the headers it says it signed, the body) with the known secret: 200 if
/// it matches, 403 if not.
async fn verify(port: u16, req: Req) -> Result<hyper::Response<Full<Bytes>>, Infallible> {
    use aws_sigv4::http_request::{sign, SignableBody, SignableRequest, SigningSettings};
    let (parts, body) = req.into_parts();
    let body = body.collect().await.unwrap().to_bytes();
    let header = |n: &str| parts.headers.get(n).and_then(|v| v.to_str().ok());
    let (Some(auth), Some(at)) = (
        header("authorization"),
        header("x-amz-date").and_then(amz_date),
    ) else {
        return Ok(status(403, "unsigned"));
    };
    let field = |name: &str| {
        auth.split([' ', ','])
            .find_map(|p| p.strip_prefix(name))
            .unwrap_or_default()
            .to_owned()
    };
    let (signed, signature) = (field("SignedHeaders="), field("Signature="));
    // The signer adds these itself.
    let added = ["x-amz-date", "x-amz-content-sha256", "x-amz-security-token"];
    let headers: Vec<(&str, &str)> = signed
        .split(';')
        .filter(|h| !added.contains(h))
        .filter_map(|h| Some((h, header(h)?)))
        .collect();
    let credentials = aws_credential_types::Credentials::new(KEY_ID, SECRET, None, None, "test");
    let identity = credentials.into();
    let mut settings = SigningSettings::default();
    settings.payload_checksum_kind = aws_sigv4::http_request::PayloadChecksumKind::XAmzSha256;
    let params = aws_sigv4::sign::v4::SigningParams::builder()
        .identity(&identity)
        .region("eu-west-1")
        .name("lambda")
        .time(at)
        .settings(settings)
        .build()
        .unwrap()
        .into();
    let url = format!("http://127.0.0.1:{port}{}", parts.uri);
    let signable = SignableRequest::new(
        parts.method.as_str(),
        url,
        headers.into_iter(),
        SignableBody::Bytes(&body),
    )
    .unwrap();
    let (_, expected) = sign(signable, &params).unwrap().into_parts();
    Ok(if expected == signature {
        status(200, "verified")
    } else {
        status(403, "signature mismatch")
    })
}

fn status(code: u16, body: &'static str) -> hyper::Response<Full<Bytes>> {
    let mut r = hyper::Response::new(Full::new(Bytes::from_static(body.as_bytes())));
    *r.status_mut() = hyper::StatusCode::from_u16(code).unwrap();
    r
}

#[test]
fn sigv4_signatures_verify_on_a_server_that_recomputes_them() {
    let port_cell = Arc::new(std::sync::OnceLock::new());
    let cell = port_cell.clone();
    let port = serve(move |stream| {
        let cell = cell.clone();
        async move {
            let port = *cell.get().unwrap();
            let service = hyper::service::service_fn(move |req| verify(port, req));
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        }
    });
    port_cell.set(port).unwrap();
    let signed = Client::builder()
        .sigv4(Signer::new("lambda", "eu-west-1", KEY_ID, SECRET, None))
        .build();
    let url = format!("http://127.0.0.1:{port}/2015-03-31/functions/orders/invocations");
    let c = signed.clone();
    let u = url.clone();
    let report = quiet("http::sigv4")
        .workers(2)
        .repeat(20)
        .run(move |ctx| {
            let (c, u, i) = (c.clone(), u.clone(), ctx.iteration());
            async move {
                let r = c
                    .post(&u)
                    .query(&[("qualifier", "live"), ("n", &i.to_string())])
                    .header("x-custom", "signed too")
                    .json(&serde_json::json!({ "order": i }))
                    .send()
                    .await?;
                assert_eq!(r.text(), "verified");
                Ok::<_, perf_runtime::http::HttpError>(())
            }
        })
        .unwrap();
    assert_eq!(report.errors, 0, "{}", report.summary());
    assert_eq!(count(&report, "http_status_200"), 20.0);

    // The server does check: another secret's signature is refused, and
    // so is an unsigned request.
    let rt = tokio::runtime::Runtime::new().unwrap();
    let wrong = Client::builder()
        .sigv4(Signer::new(
            "lambda",
            "eu-west-1",
            KEY_ID,
            "another secret",
            None,
        ))
        .build();
    let e = rt.block_on(wrong.get(&url).send()).unwrap_err();
    assert_eq!(e.class(), "http_4xx", "{e}");
    let e = rt.block_on(Client::new().get(&url).send()).unwrap_err();
    assert!(e.to_string().contains("status 403"), "{e}");
}
