//! A run compared with its baseline, metric by metric: mean, p50, p95,
//! p99, any percentile a budget names, and the error rate, each with a
//! one-sided test of "new is worse" (see [`crate::judge::stats`]).

use perf_spec::Metric;

use crate::judge::stats::{mann_whitney_greater, proportion_greater, quantile_greater};
use crate::model::baseline::{MetricComparison, Regression};
use crate::model::report::Report;

/// The metrics compared (and gated by a bare `regression < …`).
const COMPARED: [&str; 4] = ["mean", "p50", "p95", "p99"];

/// Compares `new` with `old`: mean, p50, p95, p99, any percentile named in
/// `budgets`, and the error rate. Budgets gate; other rows inform.
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
    let (a, b) = (&old.histogram, &new.histogram);
    let mut rows: Vec<MetricComparison> = names
        .iter()
        .map(|name| {
            let (old_v, new_v, worse, better) = if name == "mean" {
                (
                    a.mean(),
                    b.mean(),
                    mann_whitney_greater(a, b),
                    mann_whitney_greater(b, a),
                )
            } else {
                let q = name.trim_start_matches('p').parse::<f64>().unwrap_or(50.0) / 100.0;
                (
                    a.value_at_quantile(q) as f64,
                    b.value_at_quantile(q) as f64,
                    quantile_greater(a, b, q),
                    quantile_greater(b, a, q),
                )
            };
            MetricComparison::decide(name, old_v, new_v, worse, better, budget_for(name), alpha)
        })
        .collect();
    rows.push(MetricComparison::decide(
        "error_rate",
        old.error_rate,
        new.error_rate,
        proportion_greater(old.errors, old.iterations, new.errors, new.iterations),
        proportion_greater(new.errors, new.iterations, old.errors, old.iterations),
        budget_for("error_rate"),
        alpha,
    ));
    rows
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::judge::stats::DEFAULT_ALPHA;
    use crate::model::baseline::Verdict;

    /// A report whose latencies are `latencies` (nanoseconds), none failed.
    fn report_of(latencies: impl Iterator<Item = u64>) -> Report {
        let mut h = crate::model::measured::new_histogram();
        for ns in latencies {
            h.record(ns).unwrap();
        }
        Report::from_parts("suite::compared", h, 0, std::time::Duration::from_secs(1))
    }

    #[test]
    fn budgets_gate_the_rows_they_name_and_the_other_rows_only_inform() {
        // 6,000 iterations (enough for p99.9 to be decided) spread evenly
        // over 1.00-1.10 ms; in the new run the slowest 4% take three times
        // as long: the median and p95 stay, p99 triples, the mean moves 8%.
        let ns = |i: u64| 1_000_000 + (i % 100) * 1_000;
        let old = report_of((0..6_000).map(ns));
        let new = report_of((0..6_000).map(|i| if i % 100 >= 96 { 3 * ns(i) } else { ns(i) }));
        let row = |rows: &[MetricComparison], name: &str| {
            rows.iter().find(|m| m.metric == name).unwrap().clone()
        };
        let p99 = Metric::from_name("p99").unwrap();
        let p999 = Metric::Percentile(perf_spec::Percentile::new(99.9).unwrap());

        // Only the median is gated: the tripled p99 is shown, significant,
        // and does not fail the run.
        let median = [Regression {
            metric: Metric::from_name("p50"),
            budget: 0.10,
        }];
        let rows = compare(&old, &new, &median, DEFAULT_ALPHA);
        let names: Vec<&str> = rows.iter().map(|m| m.metric.as_str()).collect();
        assert_eq!(names, ["mean", "p50", "p95", "p99", "error_rate"]);
        assert_eq!(rows.iter().filter(|m| m.regressed()).count(), 0, "{rows:?}");
        let tail = row(&rows, "p99");
        assert!(tail.delta > 1.5 && tail.budget.is_none(), "{tail:?}");
        assert_eq!(tail.verdict, Verdict::WorseWithinBudget);
        assert_eq!(row(&rows, "p50").budget, Some(0.10));

        // A budget on p99 gates it; a bare budget gates mean, p50, p95 and
        // p99 but not the error rate; a percentile outside the four gets a
        // row of its own.
        let rows = compare(
            &old,
            &new,
            &[Regression {
                metric: Some(p99),
                budget: 0.5,
            }],
            DEFAULT_ALPHA,
        );
        assert!(row(&rows, "p99").regressed(), "{rows:?}");
        assert_eq!(rows.iter().filter(|m| m.regressed()).count(), 1);
        let all = [
            Regression {
                metric: None,
                budget: 0.05,
            },
            Regression {
                metric: Some(p999),
                budget: 0.5,
            },
        ];
        let rows = compare(&old, &new, &all, DEFAULT_ALPHA);
        for name in ["mean", "p50", "p95", "p99", "error_rate"] {
            let budget = if name == "error_rate" {
                None
            } else {
                Some(0.05)
            };
            assert_eq!(row(&rows, name).budget, budget, "{name}");
        }
        assert!(
            row(&rows, "p99").regressed() && row(&rows, "p99.9").regressed(),
            "{rows:#?}"
        );
        assert!(!row(&rows, "p50").regressed(), "{rows:?}");
    }
}
