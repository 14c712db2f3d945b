//! `perf-report`: compare perf-runtime results (a regression gate outside
//! `cargo test`), render the HTML report, export Go benchmark format.
//!
//! ```text
//! perf-report compare OLD NEW [--max-regression 10%] [--alpha 0.05]
//! perf-report html [INPUT...] [--baseline OLD] [--out target/perf/report]
//! perf-report go-bench [INPUT...]
//! perf-report merge RESULTS... [--out target/perf/merged] [--html DIR]
//! perf-report ab BASE_TEST_BINARY HEAD_TEST_BINARY [FILTER] [--rounds 6] [--budget 10%]
//! ```
//!
//! OLD, NEW and INPUT are result files (a report or a baseline JSON), a
//! directory of them (searched recursively), or a baseline version name
//! (`v1.0.0`, looked up in `PERF_BASELINE_DIR` or `./perf-baselines`).

mod ab;
mod compare;
mod gobench;
mod html;
mod html_capacity;
mod html_phases;
mod html_resources;
mod inputs;
mod merge;
mod out;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "perf-report",
    version,
    about = "Compare, render and export perf-runtime results"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Compare two sets of results, per test and metric (benchstat-like).
    /// Exits 1 when a metric regressed significantly beyond the budget.
    Compare {
        /// The old results: a file, a directory or a baseline version.
        old: String,
        /// The new results: a file, a directory or a baseline version.
        new: String,
        /// Largest allowed relative slowdown of mean, p50, p95 and p99
        /// ("10%" or 0.1); without it, nothing fails.
        #[arg(long, value_parser = parse_budget)]
        max_regression: Option<f64>,
        /// Significance level of the one-sided tests.
        #[arg(long, default_value_t = perf_runtime::stats::DEFAULT_ALPHA, value_parser = perf_runtime::parse_alpha)]
        alpha: f64,
    },
    /// Render `index.html` with latency distributions, timelines, threshold
    /// tables and, with `--baseline`, the baseline overlaid.
    Html {
        /// Results to render (default: the reports in target/perf).
        inputs: Vec<String>,
        /// Results to overlay as the baseline.
        #[arg(long)]
        baseline: Option<String>,
        /// Output directory.
        #[arg(long, default_value = "target/perf/report")]
        out: PathBuf,
    },
    /// Merge the shard results of a distributed run (files, directories or
    /// an s3://bucket/prefix/) losslessly, judge the thresholds once on the
    /// merged data, print the summaries and write the reports. Exits 1 when
    /// a threshold broke, 2 when a shard is missing or duplicated.
    Merge {
        /// Shard result files (`*.shard-I-of-N.json`), directories of them,
        /// or `s3://bucket/prefix/`.
        #[arg(required = true)]
        results: Vec<String>,
        /// Where the merged JSON reports go.
        #[arg(long, default_value = "target/perf/merged")]
        out: PathBuf,
        /// Also render the HTML report into this directory.
        #[arg(long)]
        html: Option<PathBuf>,
    },
    /// Run the perf tests of two builds of one test target alternately
    /// (ABBA order, a fresh process per build and round) and compare them
    /// round by round: drift between rounds hits both builds alike. Exits
    /// 1 when a metric regressed beyond the budget, 0 otherwise.
    Ab {
        /// The base build's test binary (`cargo test --no-run
        /// --message-format=json` names it).
        base: PathBuf,
        /// The head build's test binary.
        head: PathBuf,
        /// Only the tests whose names contain this (the test harness's
        /// filter).
        filter: Option<String>,
        /// Rounds; each runs every selected test once per build.
        #[arg(long, default_value_t = 6)]
        rounds: u32,
        /// Largest allowed relative slowdown of mean, p50, p95 and p99.
        #[arg(long, default_value = "10%", value_parser = parse_budget)]
        budget: f64,
        /// Significance level of the one-sided tests.
        #[arg(long, default_value_t = perf_runtime::stats::DEFAULT_ALPHA, value_parser = perf_runtime::parse_alpha)]
        alpha: f64,
        /// Where each round's reports are kept (cleared first).
        #[arg(long, default_value_os_t = ab::default_work_dir())]
        work_dir: PathBuf,
    },
    /// Print results in Go's benchmark text format, for benchstat.
    GoBench {
        /// Results to print (default: the reports in target/perf).
        inputs: Vec<String>,
        /// Only the tests of this Cargo package (default: the package of
        /// the current directory; every package at a workspace's root).
        #[arg(long, short)]
        package: Option<String>,
    },
}

fn parse_budget(text: &str) -> Result<f64, String> {
    let t = text.trim();
    let value = match t.strip_suffix('%') {
        Some(p) => p.trim().parse::<f64>().map(|p| p / 100.0),
        None => t.parse::<f64>(),
    }
    .map_err(|_| format!("`{t}` is not a budget; write e.g. 10% or 0.1"))?;
    if value >= 0.0 && value.is_finite() {
        Ok(value)
    } else {
        Err(format!(
            "`{t}`: a budget is a non-negative fraction or percentage"
        ))
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Compare {
            old,
            new,
            max_regression,
            alpha,
        } => compare::run(&old, &new, max_regression, alpha),
        Command::Html {
            inputs,
            baseline,
            out,
        } => html::run(&inputs, baseline.as_deref(), &out).map(|()| true),
        Command::GoBench { inputs, package } => {
            gobench::run(&inputs, package.as_deref()).map(|()| true)
        }
        Command::Merge { results, out, html } => merge::run(&results, &out, html.as_deref()),
        Command::Ab {
            base,
            head,
            filter,
            rounds,
            budget,
            alpha,
            work_dir,
        } => ab::run(&ab::Ab {
            base: &base,
            head: &head,
            rounds,
            budget,
            alpha,
            filter: filter.as_deref(),
            work: &work_dir,
        }),
    };
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            eprintln!("perf-report: {e:#}");
            ExitCode::from(2)
        }
    }
}
