//! Go's benchmark text format, so that benchstat users can compare
//! perf-runtime results with the tool they know:
//!
//! ```text
//! goos: linux
//! goarch: x86_64
//! pkg: my-service
//! BenchmarkQuickstart/parse_config_is_fast-2   20000   6281 ns/op   3510 p50-ns   3670 p95-ns   4010 p99-ns   298844 iter/s   0 errors
//! ```
//!
//! Tests are grouped by their Cargo package (`pkg:`, as `go test` prints
//! one block per package), filtered to one package with `--package` or,
//! by default, to the package of the current directory (all of them at a
//! virtual workspace's root), since a shared target directory holds the
//! reports of every package. One line per test: `Benchmark` and the name
//! with its first letter upper-cased (`tests/cpu.rs`'s `noop` is
//! `BenchmarkCpu/noop`, as Go's `BenchmarkXxx` rule wants), `::` as `/`, a
//! `-<CPUs>` suffix as Go writes it; the iteration count, the mean as
//! `ns/op`, then extra metrics in Go's `value unit` form. A test of several
//! runs (`runs = 5`) is one line per run, as `go test -count=5` writes it,
//! so that benchstat sees the spread between runs.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context, Result};
use perf_runtime::Report;

use crate::inputs::{current_dir, load_all};
use crate::out::outln;

/// A report's package: the one it recorded, else the first segment of
/// its module path (the crate, with `_` as Cargo names often have `-`).
fn package_of(r: &Report) -> String {
    r.package
        .clone()
        .unwrap_or_else(|| r.name.split("::").next().unwrap_or_default().to_owned())
}

/// `BenchmarkCpu/noop-2` for `cpu::noop` on 2 CPUs.
pub fn benchmark_name(test: &str, cpus: usize) -> String {
    let path = test.replace("::", "/");
    let mut chars = path.chars();
    let first: String = chars
        .next()
        .map(|c| c.to_uppercase().collect())
        .unwrap_or_default();
    format!("Benchmark{first}{}-{cpus}", chars.as_str())
}

/// The package of the directory `dir` is in (its nearest `Cargo.toml` with
/// a `[package]`), unless that manifest is a workspace's root too: then
/// `None`, every package.
fn package_here(dir: &Path) -> Result<Option<String>> {
    for d in dir.ancestors() {
        let manifest = d.join("Cargo.toml");
        let Ok(text) = std::fs::read_to_string(&manifest) else {
            continue;
        };
        let table: toml::Table = text
            .parse()
            .with_context(|| format!("reading {}", manifest.display()))?;
        if table.contains_key("workspace") {
            return Ok(None);
        }
        let name = table
            .get("package")
            .and_then(|p| p.get("name"))
            .and_then(|n| n.as_str());
        return Ok(name.map(str::to_owned));
    }
    Ok(None)
}

pub fn run(inputs: &[String], package: Option<&str>) -> Result<()> {
    let results = load_all(inputs)?;
    let wanted = match package {
        Some(p) => Some(p.to_owned()),
        None => package_here(&current_dir()?)?,
    };
    let mut by_package: BTreeMap<String, Vec<&Report>> = BTreeMap::new();
    for r in results.values().filter(|r| r.skipped.is_none()) {
        let pkg = package_of(r);
        if wanted
            .as_ref()
            .is_none_or(|w| *w == pkg || w.replace('-', "_") == pkg)
        {
            by_package.entry(pkg).or_default().push(r);
        }
    }
    if by_package.is_empty() {
        if let Some(w) = &wanted {
            anyhow::bail!(
                "no results of package `{w}` (give another with --package, or run from the workspace's root for every package)"
            );
        }
    }
    let cpus = std::thread::available_parallelism().map_or(1, usize::from);
    for (pkg, reports) in by_package {
        outln!("goos: {}", std::env::consts::OS);
        outln!("goarch: {}", std::env::consts::ARCH);
        outln!("pkg: {pkg}");
        for r in reports {
            print_test(r, cpus);
        }
    }
    Ok(())
}

fn print_test(r: &Report, cpus: usize) {
    // Within its package, the name without the package's own crate
    // segment when the report knows its package (`my_svc::api::get` of
    // package `my-svc` is `BenchmarkApi/get`).
    let crate_name = r.package.as_ref().map(|p| p.replace('-', "_"));
    let name = match &crate_name {
        Some(c) => r
            .name
            .strip_prefix(c.as_str())
            .and_then(|n| n.strip_prefix("::"))
            .unwrap_or(&r.name),
        None => &r.name,
    };
    let bench = benchmark_name(name, cpus);
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
            if secs > 0.0 {
                run.iterations as f64 / secs
            } else {
                0.0
            },
            run.errors
        );
    }
    if !r.runs.is_empty() {
        return;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_gos_benchmark_rule() {
        assert_eq!(benchmark_name("cpu::noop", 2), "BenchmarkCpu/noop-2");
        assert_eq!(benchmark_name("Already::x", 4), "BenchmarkAlready/x-4");
        assert_eq!(benchmark_name("érable::x", 1), "BenchmarkÉrable/x-1");
    }
}
