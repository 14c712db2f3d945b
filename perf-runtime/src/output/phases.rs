//! The phases of a run in the summary: one row per named phase of the
//! stages, with its seconds, throughput, errors, drops and latencies.

use crate::model::phase::PhaseFigures;

/// Each column's width after the first (the name, as wide as the longest).
const WIDTHS: [usize; 10] = [9, 10, 10, 7, 8, 9, 9, 9, 9, 9];

/// The table's rows (a header, then a phase each).
pub(crate) fn rows(phases: &[PhaseFigures]) -> Vec<String> {
    let width = phases.iter().map(|p| p.name.len()).fold(5, usize::max);
    let row = |cells: &[&str]| {
        let mut line = format!("{:<width$}", cells[0]);
        for (cell, w) in cells[1..].iter().zip(WIDTHS) {
            line.push_str(&format!(" {cell:>w$}"));
        }
        line
    };
    let mut rows = vec![row(&PhaseFigures::COLUMNS)];
    for p in phases {
        let cells = p.cells();
        rows.push(row(&cells.each_ref().map(String::as_str)));
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_phase_is_a_row_under_the_header_in_its_columns() {
        let phase = |name: &str, start_s, end_s| PhaseFigures {
            name: name.into(),
            start_s,
            end_s,
            iterations: 250,
            errors: 0,
            error_rate: 0.0,
            dropped: 8575,
            throughput: 409.3,
            mean_ns: 70_300_000,
            p50_ns: 68_200_000,
            p95_ns: 224_000_000,
            p99_ns: 449_000_000,
            max_ns: 451_000_000,
        };
        let rows = rows(&[phase("baseline", 0, 5), phase("peak", 5, 50)]);
        assert_eq!(rows.len(), 3);
        assert!(rows[0].starts_with("phase    "), "{rows:?}");
        assert!(rows[2].starts_with("peak     "), "{rows:?}");
        for row in &rows[1..] {
            assert_eq!(row.chars().count(), rows[0].chars().count(), "{rows:?}");
        }
        assert!(
            rows[2].contains("5–50s") && rows[2].contains("409/s"),
            "{rows:?}"
        );
        assert!(
            rows[2].contains("8575") && rows[2].ends_with("451ms"),
            "{rows:?}"
        );
    }
}
