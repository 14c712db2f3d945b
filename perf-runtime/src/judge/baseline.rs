//! A run compared with its baseline, metric by metric: mean, p50, p95,
//! p99, any percentile a budget names, and the error rate. Each latency
//! metric's change is estimated on the log scale with an interval whose
//! width comes from the spread *between runs* when a side has several
//! (`runs = N`), and a budget is broken only when the whole interval lies
//! beyond it, with Holm's correction over the metrics a test gates (see
//! `perf_runtime::stats` for the method and why).

use perf_spec::Metric;

use crate::judge::change::{estimate, logs, mean, runs_of, Estimate, Stat};
use crate::judge::stats::{MIN_SAMPLES, NOISE_THRESHOLD};
use crate::judge::student::{holm, holm_levels};
use crate::model::baseline::{MetricComparison, Regression, Verdict};
use crate::model::report::Report;

/// The metrics compared (and gated by a bare `regression < …`).
const COMPARED: [&str; 4] = ["mean", "p50", "p95", "p99"];

/// Compares `new` with `old`: mean, p50, p95, p99, any percentile named in
/// `budgets`, and the error rate. Budgets gate; other rows inform.
///
/// A gated row is `Regressed` when, after Holm's correction over the gated
/// rows, the test of "worse by more than the budget" rejects at `alpha`;
/// it is `Inconclusive` instead when each side is a single run (nothing
/// says how much runs differ on this machine) or when the machine's
/// calibration moved since the baseline was saved.
pub fn compare(
    old: &Report,
    new: &Report,
    budgets: &[Regression],
    alpha: f64,
) -> Vec<MetricComparison> {
    let budget_for = |name: &str| {
        budgets
            .iter()
            .find(|r| r.metric.is_some_and(|m| m.to_string() == name))
            .or_else(|| {
                budgets
                    .iter()
                    .find(|r| r.metric.is_none() && COMPARED.contains(&name))
            })
            .map(|r| r.budget)
    };
    let mut names: Vec<String> = COMPARED.iter().map(|s| (*s).to_owned()).collect();
    for r in budgets {
        if let Some(m) = r.metric {
            let name = m.to_string();
            if !names.contains(&name) && m != Metric::ErrorRate {
                names.push(name);
            }
        }
    }
    let machine = machine_note(old, new);
    let (old_runs, new_runs) = (runs_of(old), runs_of(new));
    let runs = [old_runs.len() as u32, new_runs.len() as u32];
    let mut rows: Vec<(MetricComparison, Option<Estimate>)> = names
        .iter()
        .map(|name| {
            let stat = Stat::of(name);
            // Each side by all its samples (its runs' spread, when it has
            // several, holds what differs between them).
            let short_side = |r: &Report| stat.short_of(r.histogram.len(), r.histogram.mean());
            let short = short_side(old).max(short_side(new));
            let (old_value, new_value) = (
                mean(&logs(&old_runs, stat)).exp(),
                mean(&logs(&new_runs, stat)).exp(),
            );
            let row = MetricComparison {
                metric: name.clone(),
                old: old_value,
                new: new_value,
                // The estimate's replaces it when the row is compared.
                delta: new_value / old_value - 1.0,
                p_value: None,
                need_more: short,
                interval: None,
                level: None,
                runs,
                budget: budget_for(name),
                verdict: Verdict::Inconclusive,
                reason: short.map(|n| format!("too few samples: {n} more iterations")),
                p_beyond_budget: None,
            };
            let est = short
                .is_none()
                .then(|| estimate(&old_runs, &new_runs, stat));
            (row, est)
        })
        .collect();
    rows.push(error_rate_row(old, new, budget_for("error_rate"), runs));

    // Holm over the gated rows' "worse by more than the budget" tests.
    for (row, est) in &mut rows {
        if let (Some(budget), Some(est)) = (row.budget, est) {
            row.p_beyond_budget = Some(est.p_above(budget.ln_1p()));
        }
    }
    let p_budget: Vec<f64> = rows
        .iter()
        .filter_map(|(row, _)| row.p_beyond_budget)
        .collect();
    let mut beyond = holm(&p_budget, alpha).into_iter();
    let mut levels = holm_levels(&p_budget, alpha).into_iter();
    for (row, est) in &mut rows {
        let gated = row.p_beyond_budget.is_some();
        let over = gated && beyond.next().unwrap_or(false);
        // A gated row's interval is at the level its test was at.
        let level = if gated {
            levels.next().unwrap_or(alpha)
        } else {
            alpha
        };
        if let Some(est) = est {
            decide(row, est, over, [alpha, level], machine.as_deref());
        }
    }
    rows.into_iter().map(|(row, _)| row).collect()
}

/// Why the machine now (`new`'s calibration) is measurably different
/// from when `old` was measured, if both were calibrated and it is.
pub(crate) fn machine_note(old: &Report, new: &Report) -> Option<String> {
    match (&new.calibration, &old.calibration) {
        (Some(now), Some(then)) => now.differs_from(then),
        _ => None,
    }
}

/// Fills a row's delta, interval, p-value and verdict from its estimate;
/// `over`: its budget test rejected (after Holm); `[alpha, level]`: the
/// test's significance level and the one this row's budget test was at
/// (Holm's, for a gated row), which its interval is shown at and its
/// direction (worse, better) is judged at, so the words match the interval.
fn decide(
    row: &mut MetricComparison,
    est: &Estimate,
    over: bool,
    [alpha, level]: [f64; 2],
    machine: Option<&str>,
) {
    row.delta = est.log_ratio.exp_m1();
    row.interval = Some(est.interval(level));
    row.level = (level < alpha).then_some(1.0 - level);
    let worse = est.p_above(0.0);
    let better = 1.0 - worse;
    row.p_value = Some(worse.min(better));
    row.need_more = None;
    row.reason = None;
    let significant = row.delta.abs() > NOISE_THRESHOLD;
    let reaches_budget = row
        .budget
        .is_some_and(|b| row.interval.is_some_and(|[_, hi]| hi > b));
    row.verdict = if over && est.single {
        row.reason = Some(
            "one run on each side, so the run-to-run noise of this machine is unknown; save the baseline with runs ≥ 3 (PERF_RUNS)".into(),
        );
        Verdict::Inconclusive
    } else if over && machine.is_some() {
        row.reason = machine.map(str::to_owned);
        Verdict::Inconclusive
    } else if over {
        row.p_value = Some(worse);
        Verdict::Regressed
    } else if row
        .interval
        .is_some_and(|[lo, _]| row.budget.is_some_and(|b| lo > b))
    {
        // Beyond the budget at its level, but Holm's step-down stopped at
        // a metric with a smaller p-value that was not.
        row.reason = Some(
            "the interval lies beyond the budget, but a gated metric more clearly worse did not, so the correction for several metrics withholds it".into(),
        );
        Verdict::Inconclusive
    } else if worse < level && significant && reaches_budget {
        row.reason = Some("worse, and the interval reaches past the budget".into());
        Verdict::Inconclusive
    } else if worse < level && significant && row.budget.is_some() {
        Verdict::WorseWithinBudget
    } else if worse < level && significant {
        Verdict::Worse
    } else if better < level && significant {
        Verdict::Improved
    } else {
        Verdict::Unchanged
    };
}

/// The error rate's row: the log of the rate ratio with Katz's interval
/// (half a failure added to each count so that none-failed works), from
/// all runs' counts: failures are rare events whose noise is binomial.
fn error_rate_row(
    old: &Report,
    new: &Report,
    budget: Option<f64>,
    runs: [u32; 2],
) -> (MetricComparison, Option<Estimate>) {
    let (e1, n1) = (old.errors as f64 + 0.5, old.iterations as f64 + 0.5);
    let (e2, n2) = (new.errors as f64 + 0.5, new.iterations as f64 + 0.5);
    let short = (old.iterations < MIN_SAMPLES || new.iterations < MIN_SAMPLES)
        .then(|| MIN_SAMPLES - old.iterations.min(new.iterations));
    let row = MetricComparison {
        metric: "error_rate".into(),
        old: old.error_rate,
        new: new.error_rate,
        delta: 0.0,
        p_value: None,
        need_more: short,
        interval: None,
        level: None,
        runs,
        budget,
        verdict: Verdict::Inconclusive,
        reason: short.map(|n| format!("too few samples: {n} more iterations")),
        p_beyond_budget: None,
    };
    if old.errors + new.errors == 0 && short.is_none() {
        // Nothing failed on either side: no change, and nothing to test.
        let mut row = row;
        row.verdict = Verdict::Unchanged;
        row.p_value = Some(1.0);
        row.interval = Some([0.0, 0.0]);
        return (row, None);
    }
    let est = short.is_none().then(|| Estimate {
        log_ratio: (e2 / n2).ln() - (e1 / n1).ln(),
        se: (1.0 / e1 - 1.0 / n1 + 1.0 / e2 - 1.0 / n2).max(0.0).sqrt(),
        df: f64::INFINITY,
        single: false,
    });
    (row, est)
}

#[cfg(test)]
mod tests;
