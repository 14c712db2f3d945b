//! What the tracking allocator adds: `cargo bench -p perf-runtime --bench
//! alloc` (release build). Measures one allocation + free of 64 bytes
//! through the system allocator directly, through the tracking allocator
//! outside any scope, and inside a perf test's scope (counted); then a
//! perf test's no-op iteration with tracking on (the `overhead` benchmark
//! has the same run without the tracking allocator).

use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;
use std::time::{Duration, Instant};

use perf_runtime::memory::{Scope, TrackingAllocator};
use perf_runtime::PerfTest;

perf_runtime::track_allocations!();

const PAIRS: u64 = 20_000_000;

fn per_pair<A: GlobalAlloc>(a: &A) -> f64 {
    let layout = Layout::from_size_align(64, 8).unwrap();
    let start = Instant::now();
    for _ in 0..PAIRS {
        // SAFETY: a valid layout; the block is freed at once with it.
        unsafe {
            let p = a.alloc(black_box(layout));
            black_box(p).write(1);
            a.dealloc(p, layout);
        }
    }
    start.elapsed().as_nanos() as f64 / PAIRS as f64
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let tracking = TrackingAllocator::system();
    let rounds = 5;
    let system: Vec<f64> = (0..rounds).map(|_| per_pair(&System)).collect();
    let untracked: Vec<f64> = (0..rounds).map(|_| per_pair(&tracking)).collect();
    let scope = Scope::new();
    let mut tracked = Vec::with_capacity(rounds);
    {
        let _in = scope.enter();
        for _ in 0..rounds {
            tracked.push(per_pair(&tracking));
        }
    }
    let (s, u, t) = (median(system), median(untracked), median(tracked));
    println!("allocator: 64-byte alloc + free, {PAIRS} pairs, {rounds} rounds (median)");
    println!("  system allocator            : {s:>6.1} ns per pair");
    println!(
        "  tracking, outside any scope : {u:>6.1} ns per pair  (+{:.1} ns: header)",
        u - s
    );
    println!(
        "  tracking, in a test's scope : {t:>6.1} ns per pair  (+{:.1} ns: header + counting)",
        t - s
    );
    let counted = scope.totals();
    assert_eq!(counted.allocations, PAIRS * rounds as u64);

    // A perf test's iteration with tracking on: no-op body, 2 workers.
    let iterations = 2_000_000u64;
    let mut times = Vec::new();
    for _ in 0..5 {
        let start = Instant::now();
        let report = PerfTest::new("bench::tracked_overhead")
            .workers(2)
            .worker_threads(2)
            .repeat(iterations)
            .env_overrides(false)
            .no_report_file()
            .quiet()
            .run(|_| async {})
            .unwrap();
        assert_eq!(report.memory.as_ref().map(|m| m.allocations), Some(0));
        times.push(start.elapsed());
    }
    times.sort();
    let d: Duration = times[times.len() / 2];
    println!(
        "perf test with tracking on: no-op body, {iterations} iterations, 2 workers: {:.1} ms, {:.1} ns/iter",
        d.as_secs_f64() * 1e3,
        d.as_nanos() as f64 / iterations as f64
    );
}
