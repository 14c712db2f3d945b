//! How a group of scenarios reads at the end: one line per scenario (its
//! model, figures and verdict) under the group's verdict; each scenario's
//! own summary is printed before it, as a perf test's is.

use perf_spec::{format_duration, format_rate};
use std::fmt::Write as _;

use crate::model::report::Report;
use crate::model::scenarios::ScenariosReport;
use crate::output::summary::{d, failure};

/// The scenario's load in a few words.
fn model(r: &Report) -> String {
    match (r.load.rate, r.load.workers) {
        (Some(rate), _) => format!("open model at {}", format_rate(rate)),
        (None, 1) => "closed model, 1 worker".to_owned(),
        (None, n) => format!("closed model, {n} workers"),
    }
}

impl ScenariosReport {
    /// The group's verdict and one line per scenario, as printed.
    pub fn summary(&self) -> String {
        let verdict = if self.passed() {
            "✓ passed"
        } else {
            "✗ FAILED"
        };
        let mut out = format!(
            "perf scenarios {}  {verdict}  ({} scenarios at the same time, {})",
            self.name,
            self.scenarios.len(),
            format_duration(self.elapsed)
        );
        let width = self
            .scenarios
            .iter()
            .map(|r| self.scenario_name(r).chars().count())
            .max()
            .unwrap_or(0)
            + 2;
        for r in &self.scenarios {
            let name = self.scenario_name(r);
            let dots = ".".repeat(width - name.chars().count());
            if let Some(reason) = &r.skipped {
                let _ = write!(out, "\n  {name}{dots}: - {reason}");
                continue;
            }
            let p95 = r
                .latency
                .percentile(95.0)
                .map_or_else(|| "-".to_owned(), |p| d(p.as_nanos() as u64));
            let mark = if r.passed { '✓' } else { '✗' };
            let _ = write!(
                out,
                "\n  {name}{dots}: {mark} {}, {} iterations, {}, p95 {p95}, errors {:.2}%",
                model(r),
                r.iterations,
                format_rate(r.throughput),
                r.error_rate * 100.0
            );
            if r.dropped > 0 {
                let _ = write!(out, ", {} dropped", r.dropped);
            }
            let broken: Vec<&str> = r
                .failed_thresholds()
                .map(|t| t.threshold.as_str())
                .collect();
            if !broken.is_empty() {
                let _ = write!(out, "; broke {}", broken.join(", "));
            }
        }
        out
    }

    /// Panics if a scenario broke a threshold (or timed out), naming each
    /// failed scenario with what it broke.
    #[track_caller]
    pub fn assert_passed(&self) {
        if self.passed() {
            return;
        }
        let failed: Vec<String> = self.failed().map(failure).collect();
        panic!(
            "perf scenarios `{}` failed: {} of {} scenarios\n{}",
            self.name,
            failed.len(),
            self.scenarios.len(),
            failed.join("\n")
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::load::LoadShape;
    use crate::model::measured::{new_histogram, Measured, Recorded};
    use crate::model::threshold::Threshold;
    use std::time::{Duration, UNIX_EPOCH};

    fn scenario(name: &str, workers: usize, latency_ms: u64, limit_ms: u64) -> Report {
        let mut r = Recorded::empty(false);
        let mut h = new_histogram();
        for _ in 0..100 {
            h.record(latency_ms * 1_000_000).unwrap();
        }
        r.histogram = h;
        r.iterations = 100;
        let load = LoadShape {
            workers,
            ..LoadShape::default()
        };
        let measured = Measured::of(r, UNIX_EPOCH, Duration::from_secs(10));
        let limit = Threshold::p(95.0).lt(Duration::from_millis(limit_ms));
        Report::build(
            name.into(),
            load,
            measured,
            &[limit],
            false,
            Default::default(),
            None,
        )
    }

    #[test]
    fn each_scenario_is_judged_on_its_own_thresholds() {
        let group = ScenariosReport {
            name: "shop".into(),
            scenarios: vec![
                scenario("shop::browse", 4, 5, 10),
                scenario("shop::checkout", 2, 30, 20),
            ],
            elapsed: Duration::from_secs(10),
        };
        assert!(!group.passed());
        assert!(group.scenario("browse").unwrap().passed);
        assert!(!group.scenario("checkout").unwrap().passed);
        assert!(group.scenario("shop").is_none());
        let summary = group.summary();
        assert!(
            summary.starts_with("perf scenarios shop  ✗ FAILED  (2 scenarios"),
            "{summary}"
        );
        assert!(
            summary
                .contains("browse....: ✓ closed model, 4 workers, 100 iterations, 10.0/s, p95 5"),
            "{summary}"
        );
        assert!(
            summary.contains("checkout..: ✗ closed model, 2 workers"),
            "{summary}"
        );
        assert!(summary.contains("broke p95 < 20ms"), "{summary}");
        let panic = std::panic::catch_unwind(|| group.assert_passed()).unwrap_err();
        let message = panic.downcast_ref::<String>().unwrap();
        assert!(message.contains("1 of 2 scenarios"), "{message}");
        assert!(message.contains("`shop::checkout` failed"), "{message}");
        assert!(!message.contains("`shop::browse` failed"), "{message}");
    }
}
