//! The HTTP client against servers that misbehave on purpose (127.0.0.1
//! only, each bounded in bytes and time): an endless body, a body declared
//! larger than the limit, a server that never answers, one that answers a
//! byte at a time, a head with too many headers. A request to any of them
//! ends, with its class, within its limit; none fills the memory.
//!
//! And secrets in URLs (userinfo, query values) never reach an error
//! message, the summary or the JSON report.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::{Duration, Instant};

use perf_runtime::http::{Client, HttpError};
use perf_runtime::prelude::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The longest any hostile server keeps a connection: the bound on each
/// test's time, whatever the client does.
const SERVER_CAP: Duration = Duration::from_secs(20);

/// What a hostile server sends after reading the request's head.
#[derive(Clone, Copy)]
enum Hostile {
    /// A chunked body that never ends (up to 256 MiB or the cap).
    EndlessChunks,
    /// `Content-Length: 1 GiB`, then a body at full speed (up to the cap).
    HugeLength,
    /// Nothing at all: the connection stays open.
    NeverAnswers,
    /// A valid response, one byte every 100 ms.
    Trickle,
    /// A head with 150 small headers.
    ManyHeaders,
    /// A complete 2 MiB body.
    TwoMebibytes,
    /// `503`, for the error-message tests.
    Unavailable,
}

/// Serves `hostile` on a port of its own; the bytes it has written go
/// into the counter returned (a bound on what the client read).
fn serve(hostile: Hostile) -> (u16, Arc<AtomicU64>) {
    let written = Arc::new(AtomicU64::new(0));
    let counter = written.clone();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            tx.send(listener.local_addr().unwrap().port()).unwrap();
            while let Ok((stream, _)) = listener.accept().await {
                let counter = counter.clone();
                tokio::spawn(tokio::time::timeout(
                    SERVER_CAP,
                    answer(stream, hostile, counter),
                ));
            }
        });
    });
    (rx.recv().unwrap(), written)
}

async fn answer(mut s: tokio::net::TcpStream, hostile: Hostile, written: Arc<AtomicU64>) {
    // Read the request's head (small requests: one read is enough, but be
    // patient with a split one).
    let mut head = Vec::new();
    let mut buf = [0u8; 4096];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        match s.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
    }
    let send = |bytes: Vec<u8>| {
        written.fetch_add(bytes.len() as u64, Relaxed);
        bytes
    };
    let chunk = vec![b'x'; 64 << 10];
    match hostile {
        Hostile::EndlessChunks => {
            let head = b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n".to_vec();
            if s.write_all(&send(head)).await.is_err() {
                return;
            }
            let mut frame = format!("{:x}\r\n", chunk.len()).into_bytes();
            frame.extend_from_slice(&chunk);
            frame.extend_from_slice(b"\r\n");
            for _ in 0..(256 << 20) / chunk.len() {
                if s.write_all(&send(frame.clone())).await.is_err() {
                    return;
                }
            }
        }
        Hostile::HugeLength => {
            let head = format!("HTTP/1.1 200 OK\r\ncontent-length: {}\r\n\r\n", 1u64 << 30);
            if s.write_all(&send(head.into_bytes())).await.is_err() {
                return;
            }
            for _ in 0..(1 << 30) / chunk.len() {
                if s.write_all(&send(chunk.clone())).await.is_err() {
                    return;
                }
            }
        }
        Hostile::NeverAnswers => tokio::time::sleep(SERVER_CAP).await,
        Hostile::Trickle => {
            for b in b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok" {
                tokio::time::sleep(Duration::from_millis(100)).await;
                if s.write_all(&send(vec![*b])).await.is_err() {
                    return;
                }
            }
        }
        Hostile::ManyHeaders => {
            let mut head = String::from("HTTP/1.1 200 OK\r\ncontent-length: 0\r\n");
            for i in 0..150 {
                head.push_str(&format!("x-h{i}: v\r\n"));
            }
            head.push_str("\r\n");
            let _ = s.write_all(&send(head.into_bytes())).await;
        }
        Hostile::TwoMebibytes => {
            let head = format!("HTTP/1.1 200 OK\r\ncontent-length: {}\r\n\r\n", 2 << 20);
            let _ = s.write_all(&send(head.into_bytes())).await;
            for _ in 0..(2 << 20) / chunk.len() {
                if s.write_all(&send(chunk.clone())).await.is_err() {
                    return;
                }
            }
        }
        Hostile::Unavailable => {
            let head = b"HTTP/1.1 503 Service Unavailable\r\ncontent-length: 0\r\n\r\n".to_vec();
            let _ = s.write_all(&send(head)).await;
        }
    }
    // Keep the connection until the client closes it (or the cap).
    let _ = s.read(&mut buf).await;
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Runtime::new().unwrap()
}

/// Bytes the kernel may hold between the server's writes and the
/// client's reads on loopback (socket buffers of both ends, autotuned up
/// to a few MiB): what a server can have written beyond what the client
/// read.
const IN_FLIGHT: u64 = 16 << 20;

#[test]
fn an_endless_body_ends_the_request_at_the_limit() {
    let (port, written) = serve(Hostile::EndlessChunks);
    let client = Client::builder().max_body(1 << 20).build();
    let started = Instant::now();
    let e = runtime()
        .block_on(client.get(&format!("http://127.0.0.1:{port}/")).send())
        .unwrap_err();
    assert!(
        matches!(e, HttpError::BodyTooLarge { limit, .. } if limit == 1 << 20),
        "{e}"
    );
    assert_eq!(e.class(), "http_body_too_large");
    assert!(e.to_string().contains("1MiB"), "{e}");
    // It stopped reading at the limit: the server could write only what
    // the limit and the socket buffers took (not its 256 MiB).
    std::thread::sleep(Duration::from_millis(200));
    let sent = written.load(Relaxed);
    assert!(
        sent <= (1 << 20) + IN_FLIGHT,
        "the server wrote {sent} bytes"
    );
    assert!(started.elapsed() < Duration::from_secs(10));

    // The default limit (16 MiB) applies without a word.
    let (port, written) = serve(Hostile::EndlessChunks);
    let e = runtime()
        .block_on(
            Client::new()
                .get(&format!("http://127.0.0.1:{port}/"))
                .send(),
        )
        .unwrap_err();
    assert_eq!(e.class(), "http_body_too_large", "{e}");
    assert!(e.to_string().contains("16MiB"), "{e}");
    std::thread::sleep(Duration::from_millis(200));
    let sent = written.load(Relaxed);
    assert!(
        sent <= perf_runtime::http::DEFAULT_MAX_BODY + IN_FLIGHT,
        "{sent}"
    );
}

#[test]
fn a_declared_length_over_the_limit_fails_before_the_body_is_read() {
    let (port, _) = serve(Hostile::HugeLength);
    let started = Instant::now();
    let e = runtime()
        .block_on(
            Client::new()
                .get(&format!("http://127.0.0.1:{port}/"))
                .send(),
        )
        .unwrap_err();
    assert_eq!(e.class(), "http_body_too_large", "{e}");
    // Reading 1 GiB over loopback takes seconds; refusing it takes none.
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn a_discarded_body_is_read_counted_and_not_kept() {
    let (port, _) = serve(Hostile::TwoMebibytes);
    let url = format!("http://127.0.0.1:{port}/");
    // Over a 1 MiB limit, but discarded: no error, nothing kept.
    let client = Client::builder().max_body(1 << 20).discard_body().build();
    let report = PerfTest::new("hostile::discarded")
        .no_report_file()
        .quiet()
        .env_overrides(false)
        .workers(1)
        .repeat(3)
        .run(move |_| {
            let (client, url) = (client.clone(), url.clone());
            async move {
                let r = client.get(&url).send().await?;
                assert!(r.body().is_empty());
                Ok::<_, HttpError>(())
            }
        })
        .unwrap();
    assert_eq!(report.errors, 0, "{}", report.summary());
    let received = report.custom["http_bytes_received"].sum;
    assert!(received >= 3.0 * (2 << 20) as f64, "{received}");
    // The request's own choice beats the client's.
    let (port, _) = serve(Hostile::TwoMebibytes);
    let url = format!("http://127.0.0.1:{port}/");
    let rt = runtime();
    let e = rt
        .block_on(Client::new().get(&url).max_body(1 << 20).send())
        .unwrap_err();
    assert_eq!(e.class(), "http_body_too_large", "{e}");
    let kept = Client::builder().max_body(1 << 20).build();
    let r = rt
        .block_on(kept.get(&url).max_body(4 << 20).send())
        .unwrap();
    assert_eq!(r.body().len(), 2 << 20);
}

#[test]
fn a_server_that_never_answers_or_trickles_times_out() {
    let rt = runtime();
    for hostile in [Hostile::NeverAnswers, Hostile::Trickle] {
        let (port, _) = serve(hostile);
        let started = Instant::now();
        let e = rt
            .block_on(
                Client::new()
                    .get(&format!("http://127.0.0.1:{port}/"))
                    .timeout(Duration::from_millis(300))
                    .send(),
            )
            .unwrap_err();
        assert_eq!(e.class(), "http_timeout", "{e}");
        let took = started.elapsed();
        assert!(
            took >= Duration::from_millis(300) && took < Duration::from_secs(3),
            "{took:?}"
        );
    }
}

#[test]
fn a_head_over_the_header_limit_names_the_limit() {
    let (port, _) = serve(Hostile::ManyHeaders);
    let e = runtime()
        .block_on(
            Client::new()
                .get(&format!("http://127.0.0.1:{port}/"))
                .send(),
        )
        .unwrap_err();
    assert_eq!(e.class(), "http_protocol", "{e}");
    let text = e.to_string();
    assert!(
        text.contains("100 headers") && text.contains("64KiB"),
        "{text}"
    );
}

#[test]
fn secrets_in_urls_reach_no_message_summary_or_report() {
    let (port, _) = serve(Hostile::Unavailable);
    let url = format!("http://alice:PASSWORD@127.0.0.1:{port}/orders?token=SECRET&page=2");
    let dir = tempfile::tempdir().unwrap();
    let client = Client::new();
    let debug = format!(
        "{:?}",
        client
            .get(&url)
            .header("authorization", "Bearer HEADERSECRET")
    );
    assert!(
        !debug.contains("HEADERSECRET")
            && !debug.contains("PASSWORD")
            && debug.contains("authorization"),
        "{debug}"
    );
    let report = PerfTest::new("hostile::secrets")
        .report_dir(dir.path())
        .quiet()
        .env_overrides(false)
        .workers(1)
        .repeat(3)
        .run(move |_| {
            let (client, url) = (client.clone(), url.clone());
            async move { client.get(&url).send().await.map(drop) }
        })
        .unwrap();
    assert_eq!(report.errors, 3);
    let summary = report.summary();
    let json = std::fs::read_to_string(report.path.as_ref().unwrap()).unwrap();
    for shown in [&summary, &json] {
        assert!(
            !shown.contains("PASSWORD") && !shown.contains("SECRET"),
            "{shown}"
        );
    }
    assert!(
        summary.contains("token=***") && summary.contains("***@127.0.0.1"),
        "{summary}"
    );
    // A user's own error text with a URL in it is redacted the same way.
    let report = PerfTest::new("hostile::secrets_in_user_errors")
        .no_report_file()
        .quiet()
        .env_overrides(false)
        .repeat(2)
        .run(|_| async { Err::<(), _>("fetching https://h.example/x?api_key=KEY42 failed") })
        .unwrap();
    assert!(!report.summary().contains("KEY42"), "{}", report.summary());
}
