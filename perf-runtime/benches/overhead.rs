//! Framework overhead per iteration: a no-op body run through `PerfTest`
//! against a minimal hand-written loop doing the least any measurement must
//! do (tokio tasks, two `Instant::now()` per iteration, one histogram
//! record).
//!
//! `cargo bench -p perf-runtime --bench overhead` (release build). Optional
//! arguments: iterations (default 2,000,000) and rounds (default 7).

use std::hint::black_box;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use perf_runtime::{Batch, PerfTest};

const WORKERS: usize = 2;

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(WORKERS)
        .enable_all()
        .build()
        .unwrap()
}

async fn noop() {
    black_box(());
}

/// The hand-written baseline: one histogram per task, merged at the end.
fn hand_loop(iterations: u64) -> (Duration, u64) {
    let rt = runtime();
    let start = Instant::now();
    let total = rt.block_on(async {
        let per_task = iterations / WORKERS as u64;
        let tasks: Vec<_> = (0..WORKERS)
            .map(|_| {
                tokio::spawn(async move {
                    let mut h = Histogram::<u64>::new(3).unwrap();
                    for _ in 0..per_task {
                        let t0 = Instant::now();
                        noop().await;
                        let t1 = Instant::now();
                        h.record(t1.duration_since(t0).as_nanos() as u64).unwrap();
                    }
                    h
                })
            })
            .collect();
        let mut all = Histogram::<u64>::new(3).unwrap();
        for t in tasks {
            all.add(t.await.unwrap()).unwrap();
        }
        all.len()
    });
    (start.elapsed(), total)
}

fn framework(iterations: u64) -> (Duration, u64) {
    let start = Instant::now();
    let report = PerfTest::new("bench::overhead")
        .workers(WORKERS)
        .worker_threads(WORKERS)
        .repeat(iterations)
        // The per-sample path: two clock reads and a record per iteration,
        // as in the hand-written loop (`benches/batching.rs` measures the
        // batched path).
        .batch(Batch::Off)
        .env_overrides(false)
        .no_report_file()
        .quiet()
        .run(|_| noop())
        .unwrap();
    (start.elapsed(), report.iterations)
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn main() {
    let mut args = std::env::args().skip(1).filter(|a| !a.starts_with('-'));
    let iterations: u64 = args
        .next()
        .and_then(|a| a.parse().ok())
        .unwrap_or(2_000_000);
    let rounds: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(7);
    // Warm both paths once (page faults, thread start-up).
    hand_loop(iterations / 10);
    framework(iterations / 10);
    let (mut hand, mut fw) = (Vec::new(), Vec::new());
    for _ in 0..rounds {
        let (t, n) = hand_loop(iterations);
        assert_eq!(n, iterations);
        hand.push(t);
        let (t, n) = framework(iterations);
        assert_eq!(n, iterations);
        fw.push(t);
    }
    let (h, f) = (median(hand), median(fw));
    let per = |d: Duration| d.as_nanos() as f64 / iterations as f64;
    println!("overhead: no-op body, {iterations} iterations, {WORKERS} workers, {rounds} rounds (median)");
    println!(
        "  hand-written loop : {:>8.1} ms  {:>6.1} ns/iter  {:>5.2} M iter/s",
        h.as_secs_f64() * 1e3,
        per(h),
        1e3 / per(h)
    );
    println!(
        "  perf-runtime      : {:>8.1} ms  {:>6.1} ns/iter  {:>5.2} M iter/s",
        f.as_secs_f64() * 1e3,
        per(f),
        1e3 / per(f)
    );
    println!(
        "  ratio             : {:.2}x (goal <= 1.30x)",
        f.as_secs_f64() / h.as_secs_f64()
    );
}
