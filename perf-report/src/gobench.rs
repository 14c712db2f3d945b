//! Go's benchmark text format, so that benchstat users can compare
//! perf-runtime results with the tool they know:
//!
//! ```text
//! BenchmarkQuickstart/parse_config_is_fast-2   20000   6281 ns/op   3510 p50-ns   3670 p95-ns   4010 p99-ns   298844 iter/s   0 errors
//! ```
//!
//! One line per test: the name (`::` becomes `/`, a `-<CPUs>` suffix as Go
//! writes it), the iteration count, the mean as `ns/op`, then extra metrics
//! in Go's `value unit` form. A test of several runs (`runs = 5`) is one
//! line per run, as `go test -count=5` writes it, so that benchstat sees
//! the spread between runs.

use crate::out::outln;
use anyhow::Result;

use crate::inputs::load_all;

pub fn run(inputs: &[String]) -> Result<()> {
    let results = load_all(inputs)?;
    let cpus = std::thread::available_parallelism().map_or(1, usize::from);
    outln!("goos: {}", std::env::consts::OS);
    outln!("goarch: {}", std::env::consts::ARCH);
    outln!("pkg: perf-runtime");
    for (name, r) in &results {
        if r.skipped.is_some() {
            continue;
        }
        let bench = format!("Benchmark{}-{cpus}", name.replace("::", "/"));
        for run in &r.runs {
            let h = &run.histogram;
            let secs = run.elapsed().as_secs_f64();
            outln!(
                "{bench}\t{}\t{:.0} ns/op\t{} p50-ns\t{} p95-ns\t{} p99-ns\t{:.0} iter/s\t{} errors",
                run.iterations,
                h.mean(),
                h.value_at_quantile(0.50),
                h.value_at_quantile(0.95),
                h.value_at_quantile(0.99),
                if secs > 0.0 { run.iterations as f64 / secs } else { 0.0 },
                run.errors
            );
        }
        if !r.runs.is_empty() {
            continue;
        }
        let pct = |p: f64| r.latency.percentile(p).map_or(0, |d| d.as_nanos());
        let mut line = format!(
            "{bench}\t{}\t{:.0} ns/op\t{} p50-ns\t{} p95-ns\t{} p99-ns\t{:.0} iter/s\t{} errors",
            r.iterations,
            r.latency.mean_ns,
            pct(50.0),
            pct(95.0),
            pct(99.0),
            r.throughput,
            r.errors
        );
        if let Some(m) = &r.memory {
            line.push_str(&format!(
                "\t{:.0} B/op\t{:.0} allocs/op",
                m.bytes_per_iter, m.allocs_per_iter
            ));
        }
        outln!("{line}");
    }
    Ok(())
}
