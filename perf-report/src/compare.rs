//! `perf-report compare OLD NEW`: a benchstat-like table per test and
//! metric, and an exit code for CI.
//!
//! Within a test, the gated metrics are corrected with Holm's method (as
//! a test's own gate does); across the tests compared, the tests'
//! smallest Holm-adjusted p-values go through Benjamini–Hochberg at
//! `alpha`, so that among a suite's flagged tests at most a fraction
//! `alpha` are expected to be false alarms: a family-wise bound over
//! hundreds of tests would hide every real change.

use crate::out::outln;
use anyhow::Result;
use perf_runtime::baseline::{compare, Regression};
use perf_runtime::stats::{benjamini_hochberg, MetricComparison, Verdict};

use crate::inputs::load;

/// Prints the comparison; `Ok(false)` if something regressed beyond the
/// budget.
pub fn run(old: &str, new: &str, budget: Option<f64>, alpha: f64) -> Result<bool> {
    let (old_results, new_results) = (load(old)?, load(new)?);
    let budgets: Vec<Regression> = budget
        .map(|b| Regression {
            metric: None,
            budget: b,
        })
        .into_iter()
        .collect();
    outln!("old: {old}");
    outln!("new: {new}");
    if let Some(b) = budget {
        outln!(
            "budget: {:.0}% on mean, p50, p95, p99 (alpha {alpha}; Holm within a test, Benjamini–Hochberg across tests)",
            b * 100.0
        );
    }
    outln!();
    let compared: Vec<(&String, Vec<MetricComparison>)> = new_results
        .iter()
        .filter_map(|(name, new_report)| {
            let old_report = old_results.get(name)?;
            Some((name, compare(old_report, new_report, &budgets, alpha)))
        })
        .collect();
    let mut extra = Vec::new();
    for name in old_results.keys().filter(|n| !new_results.contains_key(*n)) {
        extra.push(format!("only in old: {name}"));
    }
    for name in new_results.keys().filter(|n| !old_results.contains_key(*n)) {
        extra.push(format!("only in new: {name}"));
    }
    let regressions = table_with(&compared, alpha, &extra);
    Ok(regressions == 0)
}

/// The comparison table of `compared` (per test, per metric) and its
/// closing lines; returns how many rows regressed beyond their budget
/// (after Benjamini–Hochberg across the tests). `perf-report ab` prints
/// the same table.
pub fn table(compared: &[(&String, Vec<MetricComparison>)], alpha: f64) -> usize {
    table_with(compared, alpha, &[])
}

fn table_with(
    compared: &[(&String, Vec<MetricComparison>)],
    alpha: f64,
    extra: &[String],
) -> usize {
    outln!(
        "{:<44} {:<10} {:>10} {:>10} {:>8} {:>8}  verdict",
        "test",
        "metric",
        "old",
        "new",
        "delta",
        "p"
    );
    // A test's evidence of a regression: its smallest p of "worse by more
    // than the budget", Holm-adjusted (times the number of gated rows).
    let test_p: Vec<f64> = compared
        .iter()
        .map(|(_, rows)| {
            let gated: Vec<f64> = rows.iter().filter_map(|m| m.p_beyond_budget).collect();
            gated
                .iter()
                .fold(1.0f64, |lowest, &p| lowest.min(p * gated.len() as f64))
        })
        .collect();
    let across = benjamini_hochberg(&test_p, alpha);
    let mut regressions = 0;
    let mut held_back = 0;
    for ((name, rows), kept) in compared.iter().zip(across) {
        for (i, m) in rows.iter().enumerate() {
            let test = if i == 0 { name.as_str() } else { "" };
            let p = match (m.p_value, m.need_more) {
                (Some(p), _) => perf_runtime::stats::format_p(p, 3),
                (None, Some(n)) => format!("+{n} it."),
                _ => String::new(),
            };
            let verdict = match m.verdict {
                Verdict::Regressed if !kept => {
                    held_back += 1;
                    "worse (not significant across the tests compared)".to_owned()
                }
                Verdict::Regressed => {
                    regressions += 1;
                    format!("REGRESSED (budget {:.0}%)", m.budget.unwrap_or(0.0) * 100.0)
                }
                v => v.to_string(),
            };
            outln!(
                "{:<44} {:<10} {:>10} {:>10} {:>8} {:>8}  {verdict}",
                test,
                m.metric,
                value(&m.metric, m.old),
                value(&m.metric, m.new),
                perf_runtime::stats::format_delta(m.delta),
                p
            );
        }
    }
    for line in extra {
        outln!("{line}");
    }
    outln!();
    if held_back > 0 {
        outln!(
            "{held_back} row(s) beyond the budget within their test are not significant across the {} tests compared",
            compared.len()
        );
    }
    if regressions > 0 {
        outln!("{regressions} regression(s) beyond the budget");
    } else {
        outln!("no regression beyond the budget");
    }
    regressions
}

fn value(metric: &str, v: f64) -> String {
    if metric == "error_rate" {
        format!("{v:.4}")
    } else {
        perf_runtime::format_duration(std::time::Duration::from_nanos(v.round() as u64))
    }
}
