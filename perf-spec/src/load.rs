//! Open-model vocabulary: arrival rates, ramping stages and the
//! capacity-planning profiles.

use std::fmt;
use std::time::Duration;

/// Iterations per second for people: `12.5/s`, `1,296,755/s`.
pub fn format_rate(per_second: f64) -> String {
    if per_second < 100.0 {
        return format!("{per_second:.1}/s");
    }
    format!("{}/s", group_digits(&format!("{per_second:.0}")))
}

/// A whole number for people, in groups of three: `3,400`.
pub fn format_count(n: u64) -> String {
    group_digits(&n.to_string())
}

fn group_digits(digits: &str) -> String {
    let mut grouped = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(c);
    }
    grouped
}

/// Parses an arrival rate: `"500/s"`, `"30000/m"`, `"2/ms"`, `"100/h"` or a
/// bare number (per second). Returns iterations per second.
pub fn parse_rate(text: &str) -> Result<f64, String> {
    let s = text.trim();
    let (number, per) = match s.split_once('/') {
        Some((n, unit)) => {
            let per = match unit.trim() {
                "s" => 1.0,
                "m" => 60.0,
                "h" => 3600.0,
                "ms" => 1e-3,
                other => {
                    return Err(format!(
                        "unknown rate unit `/{other}`; write e.g. \"500/s\" or \"30000/m\""
                    ))
                }
            };
            (n.trim(), per)
        }
        None => (s, 1.0),
    };
    let value: f64 = number
        .replace('_', "")
        .parse()
        .map_err(|_| format!("`{number}` is not a number; write a rate such as \"500/s\""))?;
    let rate = value / per;
    if !rate.is_finite() || rate < 0.0 {
        return Err(format!("rate `{s}` must be a finite, non-negative number"));
    }
    Ok(rate)
}

/// The most workers a test may declare: each is a task with buffers of its
/// own, and a pool beyond this is a typo, not a load (use shards).
pub const MAX_WORKERS: u64 = 100_000;

/// The most iterations one closed-model latency sample may cover
/// (`batch`): 10,000 iterations per clock pair is under 1% for any body
/// of 1 ns or more.
pub const MAX_BATCH: u64 = 10_000;

/// The most threads a test's own runtime may have (tokio needs a stack and
/// a queue per thread; 100,000 threads never finished starting).
pub const MAX_WORKER_THREADS: u64 = 1_024;

/// One stage of a ramp: reach `target` linearly over `duration`.
///
/// With a `rate`, targets are iterations per second (k6's
/// ramping-arrival-rate); without one, they are active workers (k6's
/// ramping-vus). A zero `duration` is an instant step.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Stage {
    /// The phase it belongs to (`("peak", "2m", 1000)`): consecutive
    /// stages of one name are one phase, judged and reported on its own.
    pub name: Option<&'static str>,
    /// How long the ramp takes.
    pub duration: Duration,
    /// Where it ends.
    pub target: f64,
}

/// The run length of a list of stages.
pub fn stages_duration(stages: &[Stage]) -> Duration {
    stages.iter().map(|s| s.duration).sum()
}

/// Checks a list of stages on its own.
pub fn check_stages(stages: &[Stage]) -> Result<(), String> {
    if stages.is_empty() {
        return Err(
            "`stages` is empty; write e.g. stages = [(\"30s\", 100), (\"1m\", 1000)]".into(),
        );
    }
    if stages_duration(stages).is_zero() {
        return Err("`stages` last no time at all; give at least one stage a duration".into());
    }
    if let Some(s) = stages
        .iter()
        .find(|s| !s.target.is_finite() || s.target < 0.0)
    {
        return Err(format!(
            "stage target {} must be a non-negative number",
            s.target
        ));
    }
    crate::phase::phases(stages)?;
    Ok(())
}

/// A capacity-planning scenario (normal, peak, stress, spike, endurance),
/// relative to the `rate` and `duration` given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Profile {
    /// Expected traffic: 1× the rate for the duration.
    Normal,
    /// 2× the rate for the duration.
    Peak,
    /// 5× the rate for the duration.
    Stress,
    /// 1× the rate, with a sudden 10× burst for the middle fifth.
    Spike,
    /// 1× the rate for ten times the duration.
    Endurance,
}

/// Profile names, for messages and suggestions.
pub const PROFILE_NAMES: &[&str] = &["normal", "peak", "stress", "spike", "endurance"];

/// How much longer than `duration` an endurance run lasts.
pub const ENDURANCE_FACTOR: u32 = 10;

impl Profile {
    /// The profile for a name as written.
    pub fn from_name(name: &str) -> Option<Profile> {
        Some(match name {
            "normal" => Profile::Normal,
            "peak" => Profile::Peak,
            "stress" => Profile::Stress,
            "spike" => Profile::Spike,
            "endurance" => Profile::Endurance,
            _ => return None,
        })
    }

    /// The profile as arrival-rate stages: `(start rate, stages)`.
    pub fn stages(self, rate: f64, duration: Duration) -> (f64, Vec<Stage>) {
        let hold = |factor: f64, d: Duration| {
            (
                rate * factor,
                vec![Stage {
                    name: None,
                    duration: d,
                    target: rate * factor,
                }],
            )
        };
        match self {
            Profile::Normal => hold(1.0, duration),
            Profile::Peak => hold(2.0, duration),
            Profile::Stress => hold(5.0, duration),
            Profile::Endurance => hold(1.0, duration * ENDURANCE_FACTOR),
            Profile::Spike => {
                let (fifth, two_fifths) = (duration / 5, duration * 2 / 5);
                let rest = duration - two_fifths - fifth;
                let stage = |duration, factor: f64| Stage {
                    name: None,
                    duration,
                    target: rate * factor,
                };
                (
                    rate,
                    vec![
                        stage(two_fifths, 1.0),
                        stage(Duration::ZERO, 10.0),
                        stage(fifth, 10.0),
                        stage(Duration::ZERO, 1.0),
                        stage(rest, 1.0),
                    ],
                )
            }
        }
    }

    /// How long a run of this profile lasts.
    pub fn run_length(self, duration: Duration) -> Duration {
        match self {
            Profile::Endurance => duration * ENDURANCE_FACTOR,
            _ => duration,
        }
    }
}

impl fmt::Display for Profile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Profile::Normal => "normal",
            Profile::Peak => "peak",
            Profile::Stress => "stress",
            Profile::Spike => "spike",
            Profile::Endurance => "endurance",
        })
    }
}

/// The default sampling rate of `cpu_profile`: 99 Hz, as `perf record -F
/// 99`, off any timer's beat.
pub const DEFAULT_PROFILE_HZ: u32 = 99;

/// The highest sampling rate `cpu_profile = N` takes.
pub const MAX_PROFILE_HZ: u32 = 1000;

/// The default mean bytes between two samples of `heap_profile`: 512 KiB,
/// as Go's `runtime.MemProfileRate` and tcmalloc's default.
pub const DEFAULT_HEAP_PROFILE_RATE: u64 = 512 * 1024;

/// The largest mean gap `heap_profile = "…"` takes: 1 GiB.
pub const MAX_HEAP_PROFILE_RATE: u64 = 1 << 30;

/// Parses a heap profile's sampling rate: a size (`"64KiB"`) or a number
/// of bytes, from 1 byte (every allocation) to
/// [`MAX_HEAP_PROFILE_RATE`].
pub fn parse_heap_rate(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let bytes = match t.parse::<u64>() {
        Ok(n) => n as f64,
        Err(_) => crate::parse_size(t)?,
    };
    if !(1.0..=MAX_HEAP_PROFILE_RATE as f64).contains(&bytes) || bytes.fract() != 0.0 {
        return Err(format!(
            "`{t}` is not a sampling rate from 1 byte to 1GiB (the default is 512KiB)"
        ));
    }
    Ok(bytes as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heap_rates() {
        assert_eq!(parse_heap_rate("4096"), Ok(4096));
        assert_eq!(parse_heap_rate("64KiB"), Ok(65_536));
        assert_eq!(parse_heap_rate("1B"), Ok(1));
        for bad in ["0", "2GiB", "0.5B", "fast", ""] {
            assert!(parse_heap_rate(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn rates() {
        assert_eq!(parse_rate("500/s"), Ok(500.0));
        assert_eq!(parse_rate("30000/m"), Ok(500.0));
        assert_eq!(parse_rate("2/ms"), Ok(2000.0));
        assert_eq!(parse_rate("3600/h"), Ok(1.0));
        assert_eq!(parse_rate("1_000"), Ok(1000.0));
        assert_eq!(parse_rate("12.5 / s"), Ok(12.5));
        assert!(parse_rate("500/day").unwrap_err().contains("`/day`"));
        assert!(parse_rate("fast/s").unwrap_err().contains("`fast`"));
        assert!(parse_rate("-1/s").is_err());
    }

    #[test]
    fn profiles_scale_the_rate() {
        let d = Duration::from_secs(100);
        assert_eq!(
            Profile::Peak.stages(10.0, d),
            (
                20.0,
                vec![Stage {
                    name: None,
                    duration: d,
                    target: 20.0
                }]
            )
        );
        assert_eq!(Profile::Stress.stages(10.0, d).0, 50.0);
        let (start, spike) = Profile::Spike.stages(10.0, d);
        assert_eq!(start, 10.0);
        assert_eq!(stages_duration(&spike), d);
        assert_eq!(spike.iter().map(|s| s.target).fold(0.0, f64::max), 100.0);
        assert_eq!(Profile::Endurance.run_length(d), Duration::from_secs(1000));
        assert_eq!(Profile::from_name("spike"), Some(Profile::Spike));
        assert_eq!(Profile::from_name("burst"), None);
    }

    #[test]
    fn stage_checks() {
        assert!(check_stages(&[]).is_err());
        assert!(check_stages(&[Stage {
            name: None,
            duration: Duration::ZERO,
            target: 5.0
        }])
        .is_err());
        assert!(check_stages(&[Stage {
            name: None,
            duration: Duration::from_secs(1),
            target: -1.0
        }])
        .is_err());
        assert!(check_stages(&[Stage {
            name: None,
            duration: Duration::from_secs(1),
            target: 0.0
        }])
        .is_ok());
    }
}
