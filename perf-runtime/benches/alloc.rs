//! What the tracking allocator adds: `cargo bench -p perf-runtime --bench
//! alloc` (release build). Measures one allocation + free of 64 bytes
//! through the system allocator directly, through the tracking allocator
//! outside any scope, and inside a perf test's scope (counted), with a heap
//! profile at the default rate and with every allocation sampled; then a
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

fn main() {
    let tracking = TrackingAllocator::system();
    // Rounds interleave the four ways, and each way's fastest round is
    // kept: on a shared (virtual) machine the slow rounds are someone
    // else's time, and interleaving spreads drifts over all four.
    let rounds = 9;
    let scope = Scope::new();
    let profiled = Scope::new();
    assert!(
        profiled.profile_heap(512 * 1024),
        "the heap-profile feature is on"
    );
    let mut times = [const { Vec::<f64>::new() }; 4];
    for _ in 0..rounds {
        times[0].push(per_pair(&System));
        times[1].push(per_pair(&tracking));
        // (The pushes are outside the scopes: they allocate.)
        let counted = {
            let _in = scope.enter();
            per_pair(&tracking)
        };
        times[2].push(counted);
        let profiled_pair = {
            let _in = profiled.enter();
            per_pair(&tracking)
        };
        times[3].push(profiled_pair);
    }
    let [s, u, t, h] = times.map(|v| v.into_iter().fold(f64::INFINITY, f64::min));
    println!(
        "allocator: 64-byte alloc + free, {PAIRS} pairs, {rounds} interleaved rounds (fastest)"
    );
    println!("  system allocator             : {s:>6.1} ns per pair");
    println!(
        "  tracking, outside any scope  : {u:>6.1} ns per pair  (+{:.1} ns: header)",
        u - s
    );
    println!(
        "  tracking, in a test's scope  : {t:>6.1} ns per pair  (+{:.1} ns: header + counting)",
        t - s
    );
    let counted = scope.totals();
    assert_eq!(counted.allocations, PAIRS * rounds as u64);

    // Heap profiles: at the default rate a 64-byte pair is sampled once in
    // 8,192 (what is left is the countdown of the unsampled ones); at 1
    // byte every allocation is sampled (the cost of one sample: the
    // unwinding and the table).
    let every = Scope::new();
    every.profile_heap(1);
    let sampled_pairs = 200_000u64;
    let sampled = {
        let _in = every.enter();
        let layout = Layout::from_size_align(64, 8).unwrap();
        let start = Instant::now();
        for _ in 0..sampled_pairs {
            // SAFETY: as in `per_pair`.
            unsafe {
                let p = tracking.alloc(black_box(layout));
                black_box(p).write(1);
                tracking.dealloc(p, layout);
            }
        }
        start.elapsed().as_nanos() as f64 / sampled_pairs as f64
    };
    assert_eq!(every.heap_samples(), sampled_pairs);
    println!(
        "  heap profile at 512 KiB      : {h:>6.1} ns per pair  (+{:.1} ns over counting, +{:.1} ns in all; {} of {} pairs sampled)",
        h - t,
        h - s,
        profiled.heap_samples(),
        PAIRS * rounds as u64
    );
    println!(
        "  heap profile, every one      : {sampled:>6.0} ns per pair  (a sampled allocation: stack of this benchmark's depth)"
    );

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
