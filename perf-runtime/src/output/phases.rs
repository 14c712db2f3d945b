//! The phases of a run in the summary: one row per named phase of the
//! stages, with its seconds, throughput, errors, drops and latencies.

use crate::model::phase::PhaseFigures;
use crate::output::summary::d;

/// The table's rows (a header, then a phase each).
pub(crate) fn rows(phases: &[PhaseFigures]) -> Vec<String> {
    let width = phases.iter().map(|p| p.name.len()).fold(5, usize::max);
    let mut rows = vec![format!(
        "{:<width$} {:>9} {:>10} {:>10} {:>7} {:>8} {:>9} {:>9} {:>9} {:>9} {:>9}",
        "phase",
        "seconds",
        "iterations",
        "throughput",
        "errors",
        "dropped",
        "mean",
        "p50",
        "p95",
        "p99",
        "max"
    )];
    for p in phases {
        rows.push(format!(
            "{:<width$} {:>9} {:>10} {:>10} {:>6.2}% {:>8} {:>9} {:>9} {:>9} {:>9} {:>9}",
            p.name,
            format!("{}–{}s", p.start_s, p.end_s),
            p.iterations,
            perf_spec::format_rate(p.throughput),
            p.error_rate * 100.0,
            p.dropped,
            d(p.mean_ns),
            d(p.p50_ns),
            d(p.p95_ns),
            d(p.p99_ns),
            d(p.max_ns),
        ));
    }
    rows
}
