//! How closely the open model's achieved arrival rate matches the requested
//! one, and what scheduling costs: `cargo bench -p perf-runtime --bench
//! arrival` (release build). For each rate, a no-op body runs for 5 s on a
//! pool of 100 workers; reported are the iterations started per second of
//! schedule, the dropped ones, how late iterations started (scheduled →
//! actual start, the corrected latency of a no-op), and the process CPU time
//! per scheduled iteration (dispatcher + workers + recording).

use std::time::Duration;

use perf_runtime::PerfTest;

/// User + system CPU time of this process, from /proc (clock ticks).
fn cpu_time() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the parenthesised command name; utime and stime are the
    // 14th and 15th fields of the whole line.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    // Linux reports these in USER_HZ, 100 on every common configuration.
    Some(Duration::from_millis(ticks * 10))
}

fn main() {
    let seconds: u64 = std::env::args()
        .skip(1)
        .find(|a| !a.starts_with('-'))
        .and_then(|a| a.parse().ok())
        .unwrap_or(5);
    println!(
        "arrival rate: no-op body, pool of 100 workers, {seconds} s per rate, 2 runtime threads"
    );
    println!("  requested     achieved   error    dropped   start delay p50 / p99 / max      CPU per iteration");
    for rate in [1_000.0, 10_000.0, 50_000.0] {
        let cpu_before = cpu_time();
        let report = PerfTest::new("bench::arrival")
            .rate(rate)
            .duration(Duration::from_secs(seconds))
            .workers(100)
            .worker_threads(2)
            .env_overrides(false)
            .no_report_file()
            .quiet()
            .run(|_| async {})
            .unwrap();
        let cpu = cpu_before.zip(cpu_time()).map(|(a, b)| b - a);
        let scheduled = report.iterations + report.dropped;
        let achieved = report.iterations as f64 / seconds as f64;
        let d = |ns: u64| perf_runtime::format_duration(Duration::from_nanos(ns));
        let lat = &report.latency;
        let p = |q| lat.percentile(q).map_or(0, |d| d.as_nanos() as u64);
        println!(
            "  {:>7.0}/s  {:>9.1}/s  {:>+6.2}%  {:>8}   {:>8} / {:>8} / {:>8}   {:>8}",
            rate,
            achieved,
            (achieved / rate - 1.0) * 100.0,
            report.dropped,
            d(p(50.0)),
            d(p(99.0)),
            d(lat.max_ns),
            cpu.map_or(
                "n/a".into(),
                |c| d((c.as_nanos() as u64) / scheduled.max(1))
            ),
        );
    }
}
