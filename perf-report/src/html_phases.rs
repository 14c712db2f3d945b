//! The HTML report's phases: a row of figures for each named phase of a
//! run's stages (`("peak", "2m", 1000)`).

use std::fmt::Write;
use std::time::Duration;

use perf_runtime::{format_duration, format_rate, Report};

use crate::html::escape;

/// The table, if the report has phases.
pub(crate) fn table(report: &Report) -> Option<String> {
    if report.phases.is_empty() {
        return None;
    }
    let d = |ns: u64| format_duration(Duration::from_nanos(ns));
    let mut out = String::from(
        "<table class=phases><tr><th>phase</th><th>seconds</th><th>iterations</th><th>throughput</th><th>errors</th><th>dropped</th><th>mean</th><th>p50</th><th>p95</th><th>p99</th><th>max</th></tr>",
    );
    for p in &report.phases {
        let _ = write!(
            out,
            "<tr><td>{}</td><td>{}–{} s</td><td>{}</td><td>{}</td><td>{:.2}%</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            escape(&p.name),
            p.start_s,
            p.end_s,
            p.iterations,
            format_rate(p.throughput),
            p.error_rate * 100.0,
            p.dropped,
            d(p.mean_ns),
            d(p.p50_ns),
            d(p.p95_ns),
            d(p.p99_ns),
            d(p.max_ns),
        );
    }
    out.push_str("</table>");
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use perf_runtime::PhaseFigures;

    #[test]
    fn each_phase_gets_a_row_and_a_run_without_none() {
        let mut report = Report::from_parts(
            "t",
            hdrhistogram::Histogram::new(3).unwrap(),
            0,
            Duration::from_secs(3),
        );
        assert!(table(&report).is_none());
        let phase = |name: &str, start_s, end_s, p95_ms: u64| PhaseFigures {
            name: name.into(),
            start_s,
            end_s,
            iterations: 100,
            errors: 1,
            error_rate: 0.01,
            dropped: 0,
            throughput: 50.0,
            mean_ns: p95_ms * 500_000,
            p50_ns: p95_ms * 400_000,
            p95_ns: p95_ms * 1_000_000,
            p99_ns: p95_ms * 1_200_000,
            max_ns: p95_ms * 2_000_000,
        };
        report.phases = vec![phase("baseline", 0, 30, 12), phase("<peak>", 30, 150, 220)];
        let html = table(&report).unwrap();
        assert_eq!(html.matches("<tr>").count(), 3, "{html}");
        assert!(html.contains("<td>baseline</td><td>0–30 s</td>"), "{html}");
        assert!(
            html.contains("&lt;peak&gt;") && html.contains("220ms"),
            "{html}"
        );
    }
}
