//! What resource sampling costs: the CPU time of the sampler thread
//! (`perf-resources`) over a 10 s run, read from its
//! `/proc/self/task/<tid>/schedstat` (nanoseconds on a CPU), as a share of
//! one core; with no monitored process, and with three monitored by name
//! (each tick then scans every process of the machine).
//!
//! `cargo bench -p perf-runtime --bench resources` (Linux). Optional
//! argument: seconds per run (default 10).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::Duration;

use perf_runtime::{Monitor, PerfTest};

/// The sampler thread's time on a CPU so far, nanoseconds.
fn sampler_cpu_ns() -> Option<u64> {
    for task in std::fs::read_dir("/proc/self/task").ok()?.flatten() {
        let path = task.path();
        let comm = std::fs::read_to_string(path.join("comm")).unwrap_or_default();
        if comm.trim() == "perf-resources" {
            let stat = std::fs::read_to_string(path.join("schedstat")).ok()?;
            return stat.split_whitespace().next()?.parse().ok();
        }
    }
    None
}

/// A sleeping test of `secs` seconds with `monitors`; the sampler's CPU
/// per second of run.
fn cost(secs: u64, monitors: &[Monitor]) -> (f64, u64) {
    let last = Arc::new(AtomicU64::new(0));
    let done = Arc::new(AtomicBool::new(false));
    let watcher = {
        let (last, done) = (last.clone(), done.clone());
        std::thread::spawn(move || {
            while !done.load(Relaxed) {
                if let Some(ns) = sampler_cpu_ns() {
                    last.store(ns, Relaxed);
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        })
    };
    let mut test = PerfTest::new("bench::resources")
        .workers(1)
        .duration(Duration::from_secs(secs))
        .no_report_file()
        .quiet()
        .env_overrides(false);
    for m in monitors {
        test = test.monitor(m.clone());
    }
    let report = test
        .run(|_| tokio::time::sleep(Duration::from_millis(20)))
        .expect("the run");
    done.store(true, Relaxed);
    watcher.join().unwrap();
    let ns = last.load(Relaxed);
    let ticks = report.resources.map_or(0, |r| r.samples.len() as u64);
    (ns as f64 / (secs as f64 * 1e9), ticks)
}

fn main() {
    let secs: u64 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(10);
    let processes = std::fs::read_dir("/proc")
        .map(|d| {
            d.flatten()
                .filter(|e| e.file_name().to_string_lossy().parse::<u32>().is_ok())
                .count()
        })
        .unwrap_or(0);
    println!(
        "resource sampling cost, {secs} s runs, 1 sample/s, {processes} processes on the machine"
    );
    let named = [
        Monitor::name("nginx"),
        Monitor::name("moto_server"),
        Monitor::name("orders-fn"),
    ];
    for (what, monitors) in [
        ("the test process only", &[][..]),
        ("plus 3 processes by name", &named[..]),
        (
            "plus 1 by pid (this one)",
            &[Monitor::pid(std::process::id())][..],
        ),
    ] {
        let (share, ticks) = cost(secs, monitors);
        println!(
            "  {what:<26} {:>7.4}% of one core ({:.0} µs per sample, {ticks} samples)",
            share * 100.0,
            share * 1e6 * secs as f64 / ticks.max(1) as f64
        );
    }
    println!("  goal: under 0.5% of one core");
}
