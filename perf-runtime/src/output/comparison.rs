//! A baseline comparison for people: one row per metric with the change,
//! its interval, the p-value and the verdict, under a line naming the
//! baseline, how many runs each side had, and a changed machine.

use std::fmt::Write;

use crate::judge::stats::format_delta;
use crate::model::baseline::{BaselineComparison, MetricComparison};
use crate::output::summary::d;

/// `+12.7% [+3.1%, +22.9%]`: the change and its interval.
pub fn delta_with_interval(m: &MetricComparison) -> String {
    match m.interval {
        Some([lo, hi]) => format!(
            "{} [{}, {}]",
            format_delta(m.delta),
            format_delta(lo),
            format_delta(hi)
        ),
        None => format_delta(m.delta),
    }
}

/// A compared value for people: a latency (`1.95ms`), or a fraction.
pub fn compared_value(metric: &str, v: f64) -> String {
    if metric == "error_rate" {
        format!("{v:.4}")
    } else {
        d(v.round() as u64)
    }
}

/// `=0.012` or `<0.001`.
pub(crate) fn with_eq(p: String) -> String {
    if p.starts_with('<') {
        p
    } else {
        format!("={p}")
    }
}

/// One comparison row: `p95  12.1ms → 15.9ms  +31.2%  p=0.000  REGRESSED (budget 10%)`.
pub(crate) fn comparison_row(m: &MetricComparison) -> String {
    let p = match (m.p_value, m.need_more) {
        (Some(p), _) => format!("p{}", with_eq(crate::judge::stats::format_p(p, 3))),
        (None, Some(n)) => format!("need {n} more iterations"),
        _ => String::new(),
    };
    let budget = m
        .budget
        .map(|b| format!(" (budget {:.0}%)", b * 100.0))
        .unwrap_or_default();

    let reason = match (&m.reason, m.need_more) {
        // "need N more iterations" already says it.
        (Some(_), Some(_)) | (None, _) => String::new(),
        (Some(r), None) => format!(": {r}"),
    };
    format!(
        "{:<10} {:>9} → {:<9} {:>7}  {p}  {}{budget}{reason}",
        m.metric,
        compared_value(&m.metric, m.old),
        compared_value(&m.metric, m.new),
        delta_with_interval(m),
        m.verdict
    )
}

/// `5 runs vs 1`, when either side has several.
fn runs_compared(b: &BaselineComparison) -> String {
    match b.metrics.first().map(|m| m.runs) {
        Some([1, 1]) | None => String::new(),
        Some([old, new]) => format!(", {old} runs vs {new}"),
    }
}

pub(crate) fn baseline_section(out: &mut String, b: &BaselineComparison) {
    if let Some(missing) = &b.missing {
        let _ = writeln!(out, "  baseline: {missing}");
        return;
    }
    let _ = writeln!(
        out,
        "  vs baseline {} ({}{}):",
        b.version,
        b.path.display(),
        runs_compared(b)
    );
    if let Some(machine) = &b.machine {
        let _ = writeln!(out, "    ! {machine}");
    }
    for m in &b.metrics {
        let mark = if m.regressed() { "✗" } else { " " };
        let _ = writeln!(out, "    {mark} {}", comparison_row(m));
    }
}
