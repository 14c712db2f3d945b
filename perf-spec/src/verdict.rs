//! How a test's verdicts are decided: the confidence of its intervals,
//! what an inconclusive threshold does, and how many independent runs
//! make one measurement.

use std::fmt;

/// What a threshold whose interval holds its limit (an *inconclusive*
/// verdict) does to the test.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Inconclusive {
    /// The test fails: it must prove its SLA.
    Fail,
    /// The test passes: it must prove a violation.
    Pass,
    /// The point estimate decides, and the threshold is marked as decided
    /// by noise (the default).
    #[default]
    Warn,
}

/// The names [`parse_inconclusive`] accepts.
pub const INCONCLUSIVE_NAMES: [&str; 3] = ["fail", "pass", "warn"];

/// Parses `fail`, `pass` or `warn`.
pub fn parse_inconclusive(text: &str) -> Result<Inconclusive, String> {
    match text.trim() {
        "fail" => Ok(Inconclusive::Fail),
        "pass" => Ok(Inconclusive::Pass),
        "warn" => Ok(Inconclusive::Warn),
        other => Err(format!(
            "expected one of \"fail\", \"pass\", \"warn\" (what an inconclusive threshold does), not \"{other}\""
        )),
    }
}

impl fmt::Display for Inconclusive {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Inconclusive::Fail => "fail",
            Inconclusive::Pass => "pass",
            Inconclusive::Warn => "warn",
        })
    }
}

/// Checks a confidence level: a finite number in [0.5, 0.9999].
pub fn check_confidence(c: f64) -> Result<f64, String> {
    if !c.is_finite() || !(0.5..=0.9999).contains(&c) {
        return Err(format!(
            "a confidence level is a number in [0.5, 0.9999] such as 0.95, not {c}"
        ));
    }
    Ok(c)
}

/// Parses a confidence level (`0.95`).
pub fn parse_confidence(text: &str) -> Result<f64, String> {
    let c: f64 = text
        .trim()
        .parse()
        .map_err(|_| "expected a confidence level, a number such as 0.95".to_owned())?;
    check_confidence(c)
}

/// The most independent runs one test may ask for.
pub const MAX_RUNS: u64 = 100;

/// Checks a number of runs: 1 to [`MAX_RUNS`].
pub fn check_runs(n: u64) -> Result<u32, String> {
    if n == 0 || n > MAX_RUNS {
        return Err(format!(
            "runs is a count from 1 to {MAX_RUNS} (independent runs of the whole load), not {n}"
        ));
    }
    Ok(n as u32)
}

/// Parses a number of runs (`5`).
pub fn parse_runs(text: &str) -> Result<u32, String> {
    let n: u64 = text
        .trim()
        .parse()
        .map_err(|_| format!("expected a count of runs from 1 to {MAX_RUNS}, such as 5"))?;
    check_runs(n)
}

/// Expected samples beyond a percentile a run needs for it to be estimated at all
/// (with fewer, its value is one of the few slowest samples).
pub const MIN_BEYOND: f64 = 10.0;

/// Why `n` samples cannot estimate percentile `p` (0–100), if they cannot:
/// fewer than [`MIN_BEYOND`] expected beyond it (p99.9 from 2,000).
pub fn too_few_beyond(p: f64, n: u64) -> Option<String> {
    let tail = (1.0 - p / 100.0).min(p / 100.0);
    let beyond = n as f64 * tail;
    // (Tolerances: 0.001 × 10,000 is 9.999… in floating point.)
    (beyond * (1.0 + 1e-9) < MIN_BEYOND).then(|| {
        let needed = (MIN_BEYOND / tail * (1.0 - 1e-9)).ceil() as u64;
        format!(
            "p{p} from {} iterations rests on {:.0} sample(s) beyond it; it takes ~{} to estimate",
            crate::format_count(n),
            beyond,
            crate::format_count(needed)
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policies_confidences_and_runs_parse_or_say_why_not() {
        assert_eq!(parse_inconclusive(" fail"), Ok(Inconclusive::Fail));
        assert_eq!(Inconclusive::default(), Inconclusive::Warn);
        assert!(parse_inconclusive("error")
            .unwrap_err()
            .contains("\"fail\", \"pass\", \"warn\""));
        assert_eq!(parse_confidence("0.99"), Ok(0.99));
        for bad in ["NaN", "1", "0.3", "ninety"] {
            assert!(parse_confidence(bad).is_err(), "{bad}");
        }
        assert_eq!(parse_runs("5"), Ok(5));
        assert!(parse_runs("0").unwrap_err().contains("1 to 100"));
        assert!(parse_runs("101").is_err());
        assert!(parse_runs("-1").is_err());
    }

    #[test]
    fn a_percentile_beyond_the_samples_says_how_many_it_needs() {
        let note = too_few_beyond(99.9, 2_000).unwrap();
        assert!(
            note.contains("p99.9 from 2,000 iterations rests on 2 sample(s)"),
            "{note}"
        );
        assert!(note.contains("~10,000"), "{note}");
        assert_eq!(too_few_beyond(99.9, 10_000), None);
        assert_eq!(too_few_beyond(50.0, 20), None);
        assert!(too_few_beyond(95.0, 100).is_some());
    }
}
