//! Parametrised perf tests: `#[case::name(args…)]` on a `#[perf_test]`
//! makes one test per case, and the cases of one function are compared
//! with each other.
//!
//! Each case is its own `#[test]` (`put::small`, `put::large`), with its
//! own report. When a case finishes, the cases of the same function that
//! have finished in this test process are compared with the first declared
//! one among them (the reference): mean, p50, p95, p99 and throughput, the
//! relative difference, and whether it is significant (two-sided tests of
//! [`crate::stats`], `alpha` 0.05: Mann-Whitney U for the mean, the
//! quantile test for percentiles, and a difference of more than the 1%
//! noise threshold; throughput is one number per run and has no test). The comparison is written to
//! `target/perf/<module>/<fn>/comparison.json` after every case (so it
//! holds whatever ran, in any order, in parallel or not), and printed once
//! every declared case has finished in this process. Run with a filter
//! (`cargo test put::large`), the file holds the cases that ran.

pub use crate::judge::cases::{
    check_expected, compare_cases, CaseComparison, CaseDelta, CaseGroup, CaseRow, CheckFailed,
    Validation,
};

impl CaseGroup {
    /// Records a finished case, writes `comparison.json` beside the case
    /// reports, and returns the comparison once every declared case has
    /// finished.
    pub fn finish(&self, case: &str, report: &crate::Report) -> Option<CaseComparison> {
        let (comparison, complete) = self.record(case, report)?;
        if let Some(dir) = report.path.as_ref().and_then(|p| p.parent()) {
            if let Ok(json) = serde_json::to_vec_pretty(&comparison) {
                // Best effort: the case's own report is the record; a
                // comparison that cannot be written is reported, not fatal.
                let path = dir.join("comparison.json");
                if let Err(e) = crate::io::files::write_atomically(&path, &json) {
                    eprintln!(
                        "perf cases {}: could not write comparison.json: {e}",
                        comparison.function
                    );
                }
            }
        }
        complete.then_some(comparison)
    }
}
