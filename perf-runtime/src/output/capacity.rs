//! A capacity search in the summary: its verdict, the knee, and a table
//! of the steps in the order run.

use std::fmt::Write;

use crate::model::capacity::{CapacityAxis, CapacityResult, CapacityStep, StepOutcome};
use crate::output::summary::d;

/// How a step ended, for people: `held`, ``broke `p95 < 50ms` (73ms)``,
/// `generator-limited: …` (the table's last column and the progress
/// line of each step).
pub(crate) fn outcome(o: &StepOutcome) -> String {
    match o {
        StepOutcome::Held => "held".to_owned(),
        StepOutcome::Broke {
            threshold,
            observed,
        } => format!("broke `{threshold}` ({observed})"),
        StepOutcome::GeneratorLimited { reason } => format!("generator-limited: {reason}"),
    }
}

/// The search's lines, under the `capacity` label.
pub(crate) fn lines(c: &CapacityResult) -> (String, Vec<String>) {
    let mut rows = Vec::new();
    if let Some(knee) = c.knee {
        rows.push(format!(
            "knee at {}: the first step whose p95 is over twice the lowest step's",
            c.axis.format(knee)
        ));
    }
    match c.axis {
        CapacityAxis::Rate => rows.push(format!(
            "{:>10} {:>10} {:>8} {:>9} {:>9} {:>9} {:>7} {:>11}  outcome",
            "offered", "achieved", "dropped", "p50", "p95", "p99", "errors", "start p95"
        )),
        CapacityAxis::Workers => {
            rows.push(
                "Little's law: throughput × mean latency ≈ workers busy (a step far below its workers waited on the generator)"
                    .to_owned(),
            );
            rows.push(format!(
                "{:>8} {:>10} {:>9} {:>9} {:>9} {:>9} {:>7} {:>7}  outcome",
                "workers", "throughput", "mean", "p50", "p95", "p99", "X × W", "errors"
            ));
        }
    }
    for s in &c.steps {
        rows.push(row(c.axis, s));
    }
    (c.verdict.clone(), rows)
}

/// One step's row of the table.
fn row(axis: CapacityAxis, s: &CapacityStep) -> String {
    let outcome = outcome(&s.outcome);
    let mut row = String::new();
    let _ = match axis {
        CapacityAxis::Rate => write!(
            row,
            "{:>10} {:>10} {:>8} {:>9} {:>9} {:>9} {:>6.2}% {:>11}  {outcome}",
            perf_spec::format_rate(s.offered),
            perf_spec::format_rate(s.achieved),
            s.dropped,
            d(s.p50_ns),
            d(s.p95_ns),
            d(s.p99_ns),
            s.error_rate * 100.0,
            s.start_delay_p95_ns.map_or_else(|| "-".to_owned(), d),
        ),
        CapacityAxis::Workers => write!(
            row,
            "{:>8} {:>10} {:>9} {:>9} {:>9} {:>9} {:>7.1} {:>6.2}%  {outcome}",
            s.offered,
            perf_spec::format_rate(s.achieved),
            d(s.mean_ns),
            d(s.p50_ns),
            d(s.p95_ns),
            d(s.p99_ns),
            little(s),
            s.error_rate * 100.0,
        ),
    };
    row
}

/// Little's law's concurrency: throughput × mean latency, the number of
/// iterations in flight on average.
pub(crate) fn little(s: &CapacityStep) -> f64 {
    s.achieved * s.mean_ns as f64 / 1e9
}
