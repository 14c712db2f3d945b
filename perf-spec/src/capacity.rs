//! The rules of a capacity search's settings, shared by the attribute
//! (compile errors at the setting) and `PerfTest::capacity` (run-time
//! errors).

use std::time::Duration;

use crate::duration::format_duration;

/// Which setting of a search is wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CapacityField {
    /// `rate = low..=high`.
    Range,
    /// `hold = "10s"`.
    Hold,
    /// `step = 1.5`.
    Step,
    /// `precision = "5%"`.
    Precision,
    /// `warmup = "20%"`.
    Warmup,
}

/// The shortest hold a step may have: whole seconds are judged.
pub const MIN_CAPACITY_HOLD: Duration = Duration::from_secs(1);

/// What a search varies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CapacityAxis {
    /// The open model's arrival rate (`capacity(rate = 50..=20_000)`).
    #[default]
    Rate,
    /// The closed model's number of workers (`capacity(workers =
    /// 1..=512)`): the highest concurrency within the thresholds.
    Workers,
}

impl CapacityAxis {
    /// `rate` or `workers`: the setting's name.
    pub fn name(self) -> &'static str {
        match self {
            CapacityAxis::Rate => "rate",
            CapacityAxis::Workers => "workers",
        }
    }

    /// Checks the limit of a `capacity >=` threshold against what the
    /// search finds: a search over workers finds a whole number of them,
    /// and a fraction of a worker is a typo, not a limit.
    pub fn check_limit(self, limit: f64) -> Result<(), String> {
        match self {
            CapacityAxis::Workers if limit.fract() != 0.0 => Err(format!(
                "a search over workers finds a whole number of workers: a limit of {limit} compares it with a fraction"
            )),
            _ => Ok(()),
        }
    }

    /// A point of the axis for people: `1.2k/s`, `12 workers`.
    pub fn format(self, v: f64) -> String {
        match self {
            CapacityAxis::Rate => crate::load::format_rate(v),
            CapacityAxis::Workers if v == 1.0 => "1 worker".to_owned(),
            CapacityAxis::Workers => format!("{v:.0} workers"),
        }
    }
}

/// A search's settings, with their defaults in one place for the
/// attribute and `PerfTest::capacity`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CapacitySettings {
    /// What the search varies.
    pub axis: CapacityAxis,
    /// The lowest point tried (a rate per second, or a number of workers).
    pub low: f64,
    /// The highest point tried.
    pub high: f64,
    /// How long each rate is held (default 10 s).
    pub hold: Duration,
    /// The climb's factor from one rate to the next (default 1.5).
    pub step: f64,
    /// The bisection ends when the rates that held and broke are within
    /// this share of each other (default 0.05).
    pub precision: f64,
    /// The share of each hold not judged (default 0.2).
    pub warmup: f64,
}

impl CapacitySettings {
    /// Rates from `low` to `high`, the other settings at their defaults.
    pub fn rate(low: f64, high: f64) -> CapacitySettings {
        CapacitySettings {
            axis: CapacityAxis::Rate,
            low,
            high,
            hold: Duration::from_secs(10),
            step: 1.5,
            precision: 0.05,
            warmup: 0.2,
        }
    }

    /// Numbers of workers from `low` to `high`, the other settings at
    /// their defaults.
    pub fn workers(low: u32, high: u32) -> CapacitySettings {
        CapacitySettings {
            axis: CapacityAxis::Workers,
            ..CapacitySettings::rate(f64::from(low), f64::from(high))
        }
    }

    /// Checks the settings; the error names the setting and says why.
    pub fn check(&self) -> Result<(), (CapacityField, String)> {
        let CapacitySettings {
            axis,
            low,
            high,
            hold,
            step,
            precision,
            warmup,
        } = *self;
        use CapacityField::*;
        if axis == CapacityAxis::Workers {
            if low.is_nan() || low < 1.0 || low.fract() != 0.0 || high.fract() != 0.0 {
                return Err((
                    Range,
                    format!("capacity: the range {low}..={high} must be whole numbers of workers from 1"),
                ));
            }
            if high > crate::load::MAX_WORKERS as f64 {
                return Err((
                    Range,
                    format!(
                        "capacity: {high} workers is over the most a test may run ({})",
                        crate::load::MAX_WORKERS
                    ),
                ));
            }
        }
        if !(low.is_finite() && high.is_finite() && low > 0.0) {
            return Err((
                Range,
                format!("capacity: the range {low}..={high} must be positive rates per second"),
            ));
        }
        if high <= low {
            return Err((
                Range,
                format!(
                    "capacity: the range {low}..={high} is empty or reversed: give `low..=high`"
                ),
            ));
        }
        if hold < MIN_CAPACITY_HOLD {
            return Err((
                Hold,
                format!(
                    "capacity: hold {} is shorter than 1s: a step needs whole seconds to be judged",
                    format_duration(hold)
                ),
            ));
        }
        if !(step.is_finite() && step > 1.0) {
            return Err((
                Step,
                format!(
                    "capacity: step {step} must be above 1 (each rate a factor above the last)"
                ),
            ));
        }
        if !(precision.is_finite() && precision > 0.0 && precision < 1.0) {
            return Err((
                Precision,
                format!("capacity: precision {precision} must lie in (0, 1), e.g. \"5%\""),
            ));
        }
        if !(warmup.is_finite() && (0.0..0.9).contains(&warmup)) {
            return Err((
                Warmup,
                format!("capacity: warmup share {warmup} must lie in [0, 0.9), e.g. \"20%\""),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_setting_is_checked() {
        let s = Duration::from_secs(10);
        let check = |low, high, hold, step, precision, warmup| {
            CapacitySettings {
                axis: CapacityAxis::Rate,
                low,
                high,
                hold,
                step,
                precision,
                warmup,
            }
            .check()
        };
        let field = |r: Result<(), (CapacityField, String)>| r.unwrap_err().0;
        assert_eq!(
            CapacitySettings::rate(50.0, 20_000.0),
            CapacitySettings {
                axis: CapacityAxis::Rate,
                low: 50.0,
                high: 20_000.0,
                hold: s,
                step: 1.5,
                precision: 0.05,
                warmup: 0.2
            }
        );
        assert!(check(50.0, 20_000.0, s, 1.5, 0.05, 0.2).is_ok());
        assert_eq!(
            field(check(500.0, 50.0, s, 1.5, 0.05, 0.2)),
            CapacityField::Range
        );
        assert_eq!(
            field(check(0.0, 50.0, s, 1.5, 0.05, 0.2)),
            CapacityField::Range
        );
        let short = Duration::from_millis(500);
        assert_eq!(
            field(check(5.0, 50.0, short, 1.5, 0.05, 0.2)),
            CapacityField::Hold
        );
        assert_eq!(
            field(check(5.0, 50.0, s, 1.0, 0.05, 0.2)),
            CapacityField::Step
        );
        assert_eq!(
            field(check(5.0, 50.0, s, 1.5, 0.0, 0.2)),
            CapacityField::Precision
        );
        assert_eq!(
            field(check(5.0, 50.0, s, 1.5, 0.05, 0.95)),
            CapacityField::Warmup
        );
        assert_eq!(
            field(check(5.0, f64::NAN, s, 1.5, 0.05, 0.2)),
            CapacityField::Range
        );
        let workers = |low, high| CapacitySettings::workers(low, high).check();
        assert!(workers(1, 512).is_ok());
        assert_eq!(field(workers(0, 512)), CapacityField::Range);
        assert_eq!(field(workers(8, 4)), CapacityField::Range);
        assert!(workers(1, 1_000_000).unwrap_err().1.contains("the most"));
        let half = CapacitySettings {
            low: 1.5,
            ..CapacitySettings::workers(1, 8)
        };
        assert!(half.check().unwrap_err().1.contains("whole numbers"));
        assert!(CapacityAxis::Workers.check_limit(64.0).is_ok());
        assert!(CapacityAxis::Workers
            .check_limit(2.5)
            .unwrap_err()
            .contains("whole number of workers"));
        assert!(CapacityAxis::Rate.check_limit(2.5).is_ok());
        assert_eq!(CapacityAxis::Workers.format(1.0), "1 worker");
        assert_eq!(CapacityAxis::Workers.format(12.0), "12 workers");
    }
}
