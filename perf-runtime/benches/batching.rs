//! How honestly a sub-microsecond body is measured: the mean a perf test
//! reports, batched (`Batch::Auto`, the default) and one sample per
//! iteration (`Batch::Off`), against the body's true mean (a tight loop of
//! the body timed as a whole, criterion's approach).
//!
//! `cargo bench -p perf-runtime --bench batching` (release build). Optional
//! arguments: iterations per run (default 400,000) and rounds (default 5).

use std::hint::black_box;
use std::time::Instant;

use perf_runtime::{Batch, PerfTest, Report};

/// About `rounds × 2.3 ns` of dependent arithmetic that the optimiser
/// cannot fold away.
#[inline(never)]
fn work(rounds: u32) -> u64 {
    let mut x = black_box(0x9E37_79B9_7F4A_7C15u64);
    for _ in 0..black_box(rounds) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
    }
    x
}

/// The body's true mean: `n` calls timed as one block.
fn true_mean_ns(rounds: u32, n: u64) -> f64 {
    let start = Instant::now();
    for _ in 0..n {
        black_box(work(rounds));
    }
    start.elapsed().as_nanos() as f64 / n as f64
}

fn perf_test(rounds: u32, n: u64, batch: Batch) -> Report {
    PerfTest::new("bench::batching")
        .workers(1)
        .worker_threads(1)
        .repeat(n)
        .batch(batch)
        .env_overrides(false)
        .no_report_file()
        .quiet()
        .run(move |_| async move {
            black_box(work(rounds));
        })
        .unwrap()
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let mut args = std::env::args().skip(1).filter(|a| !a.starts_with('-'));
    let n: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(400_000);
    let rounds: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(5);
    println!("batching: 1 worker, {n} iterations per run, {rounds} rounds (median of means)");
    println!(
        "  {:>8}  {:>10}  {:>17}  {:>17}  {:>8}",
        "body", "true mean", "batched (k)", "one per sample", "clock"
    );
    for work_rounds in [8u32, 40, 200, 2_000] {
        // Warm the body and the runtime once.
        true_mean_ns(work_rounds, n / 10);
        perf_test(work_rounds, n / 10, Batch::Auto);
        let (mut truth, mut batched, mut single) = (Vec::new(), Vec::new(), Vec::new());
        let (mut k, mut clock) = (1, f64::NAN);
        for _ in 0..rounds {
            truth.push(true_mean_ns(work_rounds, n));
            let r = perf_test(work_rounds, n, Batch::Auto);
            assert_eq!(r.iterations, n);
            if let Some(b) = &r.batching {
                k = k.max(b.iterations_per_sample);
                clock = b.clock_ns;
            }
            batched.push(r.latency.mean_ns);
            let r = perf_test(work_rounds, n, Batch::Off);
            assert!(r.batching.is_none());
            single.push(r.latency.mean_ns);
        }
        let (t, b, s) = (median(truth), median(batched), median(single));
        println!(
            "  {:>6}ns  {:>8.1}ns  {:>7.1}ns {:>5.3}x {:>4}  {:>7.1}ns {:>5.3}x  {:>6.1}ns",
            t.round(),
            t,
            b,
            b / t,
            format!("k{k}"),
            s,
            s / t,
            clock
        );
    }
    println!(
        "  goal: batched within 1.05x of the true mean for bodies of 100 ns and more (the clock pair is under 1% of a sample; what is left is polling and dropping each future)"
    );
}
