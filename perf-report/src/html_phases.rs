//! The HTML report's phases: a row of figures for each named phase of a
//! run's stages (`("peak", "2m", 1000)`).

use std::fmt::Write;

use perf_runtime::{PhaseFigures, Report};

use crate::html::escape;

/// The table, if the report has phases.
pub(crate) fn table(report: &Report) -> Option<String> {
    if report.phases.is_empty() {
        return None;
    }
    let mut out = String::from("<table class=phases><tr>");
    for column in PhaseFigures::COLUMNS {
        let _ = write!(out, "<th>{column}</th>");
    }
    out.push_str("</tr>");
    for p in &report.phases {
        out.push_str("<tr>");
        for cell in p.cells() {
            let _ = write!(out, "<td>{}</td>", escape(&cell));
        }
        out.push_str("</tr>");
    }
    out.push_str("</table>");
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

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
        assert!(html.contains("<td>baseline</td><td>0–30s</td>"), "{html}");
        assert!(
            html.contains("&lt;peak&gt;") && html.contains("220ms"),
            "{html}"
        );
    }
}
