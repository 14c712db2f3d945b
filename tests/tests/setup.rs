//! State around the load: a setup run once, untimed, on the test's own
//! runtime (here a TCP echo server on 127.0.0.1, which lives for the whole
//! run); a connection per worker, made before the worker's first
//! iteration; a teardown after; and think time and untimed work that are
//! not latency.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use perf_runtime::prelude::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// An echo server on 127.0.0.1, and what the test saw of it.
struct Echo {
    port: u16,
    server: tokio::task::JoinHandle<()>,
    iterations: AtomicU64,
    connections: AtomicUsize,
}

async fn start_echo() -> Echo {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut byte = [0u8; 1];
                while socket.read_exact(&mut byte).await.is_ok() {
                    if socket.write_all(&byte).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    Echo {
        port,
        server,
        iterations: AtomicU64::new(0),
        connections: AtomicUsize::new(0),
    }
}

fn quiet(name: &str) -> PerfTest {
    PerfTest::new(format!("setup::{name}"))
        .no_report_file()
        .quiet()
        .env_overrides(false)
}

#[test]
fn a_server_from_setup_serves_every_iteration_over_one_connection_per_worker() {
    let torn_down = Arc::new(Mutex::new(None));
    let seen = torn_down.clone();
    let report = quiet("echo")
        .workers(4)
        .repeat(400)
        .warmup(20)
        .setup(start_echo)
        .teardown(move |echo: Arc<Echo>| async move {
            echo.server.abort();
            *seen.lock().unwrap() =
                Some((echo.iterations.load(SeqCst), echo.connections.load(SeqCst)));
        })
        .per_worker(|worker, echo: Arc<Echo>| async move {
            echo.connections.fetch_add(1, SeqCst);
            let stream = TcpStream::connect(("127.0.0.1", echo.port)).await.unwrap();
            (worker, tokio::sync::Mutex::new(stream))
        })
        .run(|ctx, echo, conn| async move {
            assert_eq!(conn.0, ctx.worker(), "each worker gets its own state");
            let mut stream = conn.1.lock().await;
            stream.write_all(&[7]).await?;
            let mut byte = [0u8; 1];
            stream.read_exact(&mut byte).await?;
            if !ctx.is_warmup() {
                echo.iterations.fetch_add(1, SeqCst);
            }
            Ok::<(), std::io::Error>(())
        })
        .unwrap();
    assert!(report.passed, "{}", report.summary());
    assert_eq!(report.iterations, 400);
    // The teardown ran after the load, and saw every measured iteration
    // and one connection per worker (warm-up included, made once).
    assert_eq!(*torn_down.lock().unwrap(), Some((400, 4)));
}

#[test]
fn think_time_and_untimed_work_are_not_latency() {
    // Each iteration thinks 20 ms (or builds its input for 20 ms) and then
    // does next to nothing: were the 20 ms counted, no sample could be
    // below it.
    let think = quiet("think")
        .workers(2)
        .repeat(20)
        .run(|ctx| async move {
            ctx.think(Duration::from_millis(20)).await;
            std::hint::black_box(1 + 1);
        })
        .unwrap();
    let untimed = quiet("untimed")
        .workers(2)
        .repeat(20)
        .run(|ctx| async move {
            let input = ctx
                .untimed(async {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    vec![1u8; 64]
                })
                .await;
            std::hint::black_box(input.len());
        })
        .unwrap();
    for r in [&think, &untimed] {
        assert!(
            r.latency.min_ns < 20_000_000,
            "{}: min {} ns includes the untimed 20 ms",
            r.name,
            r.latency.min_ns
        );
        // The run still took the time: 20 iterations of 20 ms on 2 workers.
        assert!(
            r.elapsed() >= Duration::from_millis(200),
            "{:?}",
            r.elapsed()
        );
    }
}

/// The attribute form: `setup`, `per_worker` and `teardown` name async
/// functions; the body borrows what they made.
async fn start() -> Echo {
    start_echo().await
}

async fn stop(echo: Arc<Echo>) {
    echo.server.abort();
    assert_eq!(
        echo.iterations.load(SeqCst),
        200,
        "every iteration ran on the setup's server"
    );
}

async fn connect(_worker: usize, echo: Arc<Echo>) -> tokio::sync::Mutex<TcpStream> {
    echo.connections.fetch_add(1, SeqCst);
    tokio::sync::Mutex::new(TcpStream::connect(("127.0.0.1", echo.port)).await.unwrap())
}

#[perf_runtime::perf_test(workers = 2, repeat = 200, setup = start, per_worker = connect, teardown = stop, p95 < "1s")]
async fn echo_through_the_attribute(
    ctx: &Ctx,
    echo: &Echo,
    conn: &tokio::sync::Mutex<TcpStream>,
) -> std::io::Result<()> {
    let mut stream = conn.lock().await;
    stream.write_all(&[ctx.iteration() as u8]).await?;
    let mut byte = [0u8; 1];
    stream.read_exact(&mut byte).await?;
    echo.iterations.fetch_add(1, SeqCst);
    assert!(
        echo.connections.load(SeqCst) == 2,
        "one connection per worker, made before the load"
    );
    Ok(())
}
