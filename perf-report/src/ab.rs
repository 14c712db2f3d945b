//! `perf-report ab BASE HEAD`: the perf tests of two builds of one test
//! target, run alternately in fresh processes (ABBA: A B, B A, A B, …),
//! compared round by round.
//!
//! Each round runs every selected perf test of one build and then of the
//! other, so whatever the machine does between rounds (a neighbour's
//! build starting, a CPU stepping down) moves both sides of that round
//! alike; the comparison is of the rounds' paired differences
//! (`perf_runtime::baseline::compare_paired`), not of two groups measured
//! at different times. No committed baseline, no quiet machine.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};
use perf_runtime::baseline::{compare_paired, Regression};
use perf_runtime::{Report, RunFigures};

use crate::compare::table;
use crate::inputs::{load, Results};
use crate::out::outln;

/// What `perf-report ab` was asked to do.
pub struct Ab<'a> {
    pub base: &'a Path,
    pub head: &'a Path,
    pub rounds: u32,
    pub budget: f64,
    pub alpha: f64,
    pub filter: Option<&'a str>,
    pub work: &'a Path,
}

/// The variables a round clears: each side runs its tests once, as
/// declared, and saves, compares and publishes nothing.
const CLEARED: [&str; 9] = [
    "PERF_RUNS",
    "PERF_BASELINE",
    "PERF_SAVE_BASELINE",
    "PERFORMANCE_TEST_BASELINE_VERSION",
    "PERF_REQUIRE_BASELINE",
    "PERF_RESULTS",
    "PERF_PUBLISH",
    "PERF_SHARD",
    "PERF_START_AT",
];

/// Runs the rounds and prints the comparison; `Ok(false)` on a regression.
pub fn run(ab: &Ab<'_>) -> Result<bool> {
    if ab.rounds < 2 {
        bail!("--rounds {}: A/B needs at least 2 rounds (the spread of their differences is the noise)", ab.rounds);
    }
    for bin in [ab.base, ab.head] {
        if !bin.is_file() {
            bail!("{} is not a test binary (find it with `cargo test --no-run --message-format=json`)", bin.display());
        }
    }
    if ab.work.exists() {
        std::fs::remove_dir_all(ab.work)
            .with_context(|| format!("clearing {}", ab.work.display()))?;
    }
    let mut sides: [Vec<Results>; 2] = [Vec::new(), Vec::new()];
    for round in 0..ab.rounds {
        // ABBA: a side that ran second in one round runs first in the next.
        let order = if round % 2 == 0 { [0, 1] } else { [1, 0] };
        for side in order {
            let dir = ab
                .work
                .join(format!("round-{round}"))
                .join(["base", "head"][side]);
            sides[side].push(run_side([ab.base, ab.head][side], ab.filter, &dir)?);
        }
        eprintln!("perf-report ab: round {} of {} done", round + 1, ab.rounds);
    }
    let budgets = [Regression {
        metric: None,
        budget: ab.budget,
    }];
    let (names, mut compared) = (common(&sides), Vec::new());
    for name in &names {
        let (a, b) = (rounds_of(&sides[0], name)?, rounds_of(&sides[1], name)?);
        compared.push((name, compare_paired(&a, &b, &budgets, ab.alpha)));
    }
    if compared.is_empty() {
        bail!(
            "no perf test ran in both builds (filter: {:?})",
            ab.filter.unwrap_or("")
        );
    }
    outln!("base: {}", ab.base.display());
    outln!("head: {}", ab.head.display());
    outln!(
        "{} rounds in ABBA order, each a fresh process per build; changes from the rounds' paired differences",
        ab.rounds
    );
    outln!(
        "budget: {:.0}% on mean, p50, p95, p99 (alpha {}; Holm within a test, Benjamini–Hochberg across tests)",
        ab.budget * 100.0,
        ab.alpha
    );
    outln!();
    let regressions = table(&compared, ab.alpha);
    Ok(regressions == 0)
}

/// Runs one build's perf tests with their reports in `dir`.
fn run_side(bin: &Path, filter: Option<&str>, dir: &Path) -> Result<Results> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let mut cmd = Command::new(bin);
    cmd.args(filter).env("PERF_REPORT_DIR", dir);
    for var in CLEARED {
        cmd.env_remove(var);
    }
    let out = cmd
        .output()
        .with_context(|| format!("running {}", bin.display()))?;
    // A failing perf test still wrote its report: a slower build may break
    // a threshold, and that is for the comparison to show. A binary that
    // wrote no report at all failed for another reason.
    match load(&dir.to_string_lossy()) {
        Ok(results) => Ok(results),
        Err(_) => bail!(
            "{} wrote no perf report (exit {}): {}",
            bin.display(),
            out.status,
            String::from_utf8_lossy(&out.stderr)
                .lines()
                .rev()
                .take(5)
                .collect::<Vec<_>>()
                .join(" / ")
        ),
    }
}

/// The tests every round of both sides has.
fn common(sides: &[Vec<Results>; 2]) -> Vec<String> {
    let Some(first) = sides[0].first() else {
        return Vec::new();
    };
    first
        .keys()
        .filter(|name| sides.iter().flatten().all(|r| r.contains_key(*name)))
        .cloned()
        .collect()
}

/// One side's reports of `name`, one per round, as one report whose runs
/// are the rounds (in round order, so that run `i` pairs with the other
/// side's run `i`).
fn rounds_of(rounds: &[Results], name: &str) -> Result<Report> {
    let reports: Vec<&Report> = rounds.iter().filter_map(|r| r.get(name)).collect();
    let Some(&first) = reports.first() else {
        bail!("no report of {name}");
    };
    let mut all = first.clone();
    let mut histogram = first.histogram.clone();
    histogram.reset();
    let (mut iterations, mut errors) = (0, 0);
    let mut runs = Vec::with_capacity(reports.len());
    for r in &reports {
        histogram
            .add(&r.histogram)
            .map_err(|e| anyhow::anyhow!("{name}: merging the rounds: {e}"))?;
        iterations += r.iterations;
        errors += r.errors;
        runs.push(RunFigures {
            iterations: r.iterations,
            errors: r.errors,
            elapsed_ns: r.elapsed().as_nanos() as u64,
            histogram: r.histogram.clone(),
        });
    }
    all.histogram = histogram;
    all.iterations = iterations;
    all.errors = errors;
    all.error_rate = if iterations > 0 {
        errors as f64 / iterations as f64
    } else {
        0.0
    };
    all.runs = runs;
    Ok(all)
}

/// Where the rounds' reports go unless `--work-dir` says.
pub fn default_work_dir() -> PathBuf {
    PathBuf::from("target/perf/ab")
}
