//! A run compared with its baseline, metric by metric: mean, p50, p95,
//! p99, any percentile a budget names, and the error rate. Each latency
//! metric's change is estimated on the log scale with an interval whose
//! width comes from the spread *between runs* when a side has several
//! (`runs = N`), and a budget is broken only when the whole interval lies
//! beyond it, with Holm's correction over the metrics a test gates (see
//! `perf_runtime::stats` for the method and why).

use perf_spec::Metric;

use crate::judge::change::{estimate, logs, mean, paired_estimate, runs_of, Estimate, Stat};
use crate::judge::stats::{MIN_SAMPLES, NOISE_THRESHOLD};
use crate::judge::student::{holm, holm_levels};
use crate::model::baseline::{MetricComparison, Regression, Verdict};
use crate::model::report::Report;

/// Why a gated metric significantly worse is not called a regression, and
/// what would settle it.
pub(crate) const UNSETTLED: &str = "worse, and the interval reaches past the budget: more runs (PERF_RUNS=3) or `perf-report ab` would settle it";

/// The metrics compared (and gated by a bare `regression < …`).
const COMPARED: [&str; 4] = ["mean", "p50", "p95", "p99"];

/// Compares `new` with `old`: mean, p50, p95, p99, any percentile named in
/// `budgets`, and the error rate. Budgets gate; other rows inform.
///
/// A gated row is `Regressed` when, after Holm's correction over the gated
/// rows, the test of "worse by more than the budget" rejects at `alpha`;
/// it is `Inconclusive` instead when each side is a single run (nothing
/// says how much runs differ on this machine) or when the machine's
/// calibration moved since the baseline was saved by enough to explain
/// the change (see `perf_runtime::stats`: a sleep-bound test 30% slower while only
/// the CPU workload slowed is still a regression).
pub fn compare(
    old: &Report,
    new: &Report,
    budgets: &[Regression],
    alpha: f64,
) -> Vec<MetricComparison> {
    compare_with(old, new, budgets, alpha, false)
}

/// [`compare`] for A/B rounds (`perf-report ab`): `old.runs[i]` and
/// `new.runs[i]` ran back to back in round `i`, so each metric's change is
/// the mean of the rounds' paired differences (drift between rounds
/// cancels), and no machine check applies (both sides met the same
/// machine).
pub fn compare_paired(
    old: &Report,
    new: &Report,
    budgets: &[Regression],
    alpha: f64,
) -> Vec<MetricComparison> {
    compare_with(old, new, budgets, alpha, true)
}

fn compare_with(
    old: &Report,
    new: &Report,
    budgets: &[Regression],
    alpha: f64,
    paired: bool,
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
    let machine = machine(old, new).filter(|_| !paired);
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
            let est = short.is_none().then(|| match paired {
                true => paired_estimate(&old_runs, &new_runs, stat),
                false => estimate(&old_runs, &new_runs, stat),
            });
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
            decide(row, est, over, [alpha, level], machine.as_ref());
        }
    }
    rows.into_iter().map(|(row, _)| row).collect()
}

/// A machine measurably different from when the baseline was saved, and
/// how far that alone would move this test's latencies.
pub(crate) struct Machine {
    /// What differs, and what was concluded, in one line.
    pub(crate) note: String,
    /// The ratio the machine alone would give a latency of this test:
    /// its CPU-bound share of the CPU workload's ratio plus the rest of
    /// the sleep's (both when the share is unknown: the larger).
    pub(crate) factor: f64,
}

/// The share of a worker's wall time its body spent on a CPU, from the
/// run's resources (a run of at least a second: CPU time comes in ticks).
fn cpu_bound_share(r: &Report) -> Option<f64> {
    let res = r.resources.as_ref()?;
    let busy = (r.load.workers as f64).min(res.cores);
    let share = res.cpu_seconds / (res.window_s * busy);
    (res.window_s >= 1.0 && share.is_finite()).then(|| share.clamp(0.0, 1.0))
}

/// The machine now (`new`'s calibration) against when `old` was
/// measured, if both were calibrated and it differs.
pub(crate) fn machine(old: &Report, new: &Report) -> Option<Machine> {
    let (now, then) = (new.calibration.as_ref()?, old.calibration.as_ref()?);
    let differs = now.differs_from(then)?;
    let [cpu, timer] = now.ratios(then);
    let share = cpu_bound_share(new).or_else(|| cpu_bound_share(old));
    let (factor, bound) = match share {
        Some(s) => (
            s * cpu + (1.0 - s) * timer,
            format!("it is {:.0}% CPU-bound", s * 100.0),
        ),
        None => (
            cpu.max(timer),
            "how CPU-bound it is is not known".to_owned(),
        ),
    };
    let note = if factor > 1.0 {
        format!(
            "{differs}; that alone would make this test's latencies about {factor:.2}× ({bound}): only a change beyond that and the budget is a regression"
        )
    } else {
        format!("{differs}; it is not slower for this test ({bound}): a change beyond the budget is a regression")
    };
    Some(Machine { note, factor })
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
    machine: Option<&Machine>,
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
            "one run on each side, so the run-to-run noise of this machine is unknown; to know, save the baseline with runs ≥ 3 and compare 3 runs (PERF_RUNS=3), or compare the two builds with `perf-report ab`".into(),
        );
        Verdict::Inconclusive
    } else if let Some(m) = machine.filter(|m| {
        // Beyond the budget even with the machine's slowdown taken out?
        over && est.p_above(row.budget.unwrap_or(0.0).ln_1p() + m.factor.max(1.0).ln()) >= level
    }) {
        row.reason = Some(format!(
            "the machine is slower (about {:.2}× for this test), which could explain this change",
            m.factor
        ));
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
        row.reason = Some(UNSETTLED.into());
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
