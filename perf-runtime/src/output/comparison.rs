//! A baseline comparison for people: one row per metric with the change,
//! its interval, the p-value and the verdict, under a line naming the
//! baseline, how many runs each side had, and a changed machine.

use std::fmt::Write;

use crate::judge::stats::format_delta;
use crate::model::baseline::{BaselineComparison, MetricComparison};
use crate::model::report::Report;
use crate::output::summary::d;

/// `+12.7% [+3.1%, +22.9%]`: the change and its interval, with its level
/// when the correction for several gated metrics set it (`[+9.1%, +27.9%]
/// at 98.75%`).
pub fn delta_with_interval(m: &MetricComparison) -> String {
    let level = m
        .level
        .map(|l| format!(" at {}", crate::output::verdicts::percent(l)))
        .unwrap_or_default();
    match m.interval {
        Some([lo, hi]) => format!(
            "{} [{}, {}]{level}",
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

/// What a failed test's message says of its baseline gate: the causes
/// (`1 metric regressed against baseline v1:`, and under
/// `inconclusive = "fail"` the gated metrics it could not decide) and one
/// line per metric.
pub(crate) fn gate_failure(r: &Report) -> (Vec<String>, String) {
    let (mut causes, mut lines) = (Vec::new(), String::new());
    let Some(b) = &r.baseline else {
        return (causes, lines);
    };
    let count = |n: usize| match n {
        1 => "1 metric".to_owned(),
        n => format!("{n} metrics"),
    };
    let regressions: Vec<&MetricComparison> = b.regressions().collect();
    if !regressions.is_empty() {
        causes.push(format!(
            "{} regressed against baseline {}:",
            count(regressions.len()),
            b.version
        ));
    }
    let undecided: Vec<&MetricComparison> = match r.judging.inconclusive {
        perf_spec::Inconclusive::Fail => b.undecided().collect(),
        _ => Vec::new(),
    };
    if !undecided.is_empty() {
        causes.push(format!(
            "{} inconclusive against baseline {} (inconclusive = \"fail\"):",
            count(undecided.len()),
            b.version
        ));
    }
    for m in &regressions {
        let _ = write!(
            lines,
            "\n  ✗ {} regression: {} ({} → {}, p{}) over the {:.0}% budget",
            m.metric,
            delta_with_interval(m),
            compared_value(&m.metric, m.old),
            compared_value(&m.metric, m.new),
            with_eq(crate::judge::stats::format_p(m.p_value.unwrap_or(0.0), 4)),
            m.budget.unwrap_or(0.0) * 100.0
        );
    }
    for m in &undecided {
        let _ = write!(
            lines,
            "\n  ✗ {} regression undecided: {} ({} → {}, budget {:.0}%){}",
            m.metric,
            delta_with_interval(m),
            compared_value(&m.metric, m.old),
            compared_value(&m.metric, m.new),
            m.budget.unwrap_or(0.0) * 100.0,
            m.reason
                .as_ref()
                .map(|r| format!(": {r}"))
                .unwrap_or_default()
        );
    }
    (causes, lines)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::baseline::Verdict;

    #[test]
    fn an_interval_at_a_corrected_level_says_its_level() {
        let mut m = MetricComparison {
            metric: "p95".into(),
            old: 3.37e6,
            new: 3.98e6,
            delta: 0.182,
            p_value: Some(0.004),
            need_more: None,
            interval: Some([0.091, 0.279]),
            level: Some(0.9875),
            runs: [5, 3],
            p_beyond_budget: Some(0.03),
            reason: Some("worse, and the interval reaches past the budget".into()),
            budget: Some(0.10),
            verdict: Verdict::Inconclusive,
        };
        assert_eq!(delta_with_interval(&m), "+18.2% [+9.1%, +27.9%] at 98.75%");
        m.level = None;
        assert_eq!(delta_with_interval(&m), "+18.2% [+9.1%, +27.9%]");
    }
}
