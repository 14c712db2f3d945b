//! `perf-report compare OLD NEW`: a benchstat-like table per test and
//! metric, and an exit code for CI.

use crate::out::outln;
use anyhow::Result;
use perf_runtime::baseline::{compare, Regression};
use perf_runtime::stats::Verdict;

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
            "budget: {:.0}% on mean, p50, p95, p99 (one-sided tests, alpha {alpha})",
            b * 100.0
        );
    }
    outln!();
    outln!(
        "{:<44} {:<10} {:>10} {:>10} {:>8} {:>8}  verdict",
        "test",
        "metric",
        "old",
        "new",
        "delta",
        "p"
    );
    let mut regressions = 0;
    for (name, new_report) in &new_results {
        let Some(old_report) = old_results.get(name) else {
            continue;
        };
        for (i, m) in compare(old_report, new_report, &budgets, alpha)
            .iter()
            .enumerate()
        {
            let test = if i == 0 { name.as_str() } else { "" };
            let p = match (m.p_value, m.need_more) {
                (Some(p), _) => perf_runtime::stats::format_p(p, 3),
                (None, Some(n)) => format!("+{n} it."),
                _ => String::new(),
            };
            let verdict = match m.verdict {
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
    for name in old_results.keys().filter(|n| !new_results.contains_key(*n)) {
        outln!("only in old: {name}");
    }
    for name in new_results.keys().filter(|n| !old_results.contains_key(*n)) {
        outln!("only in new: {name}");
    }
    outln!();
    if regressions > 0 {
        outln!("{regressions} regression(s) beyond the budget");
    } else {
        outln!("no regression beyond the budget");
    }
    Ok(regressions == 0)
}

fn value(metric: &str, v: f64) -> String {
    if metric == "error_rate" {
        format!("{v:.4}")
    } else {
        perf_runtime::format_duration(std::time::Duration::from_nanos(v.round() as u64))
    }
}
