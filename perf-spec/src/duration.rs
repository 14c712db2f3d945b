//! Duration strings: `"200ms"`, `"1.5s"`, `"2m30s"`, `"250µs"`.

use std::fmt;
use std::time::Duration;

/// Why a duration string was rejected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DurationError {
    /// The string is empty or only white space.
    Empty,
    /// A number was not followed by a unit (`"200"`).
    MissingUnit {
        /// The number without its unit.
        number: String,
    },
    /// A unit that is not one of `ns`, `us`, `µs`, `ms`, `s`, `m`, `h`.
    UnknownUnit {
        /// The unit as written.
        unit: String,
    },
    /// Something that is not a number where a number was expected.
    BadNumber {
        /// The offending text.
        text: String,
    },
    /// The total does not fit in a `Duration`.
    Overflow,
}

impl fmt::Display for DurationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const UNITS: &str = "ns, us (or µs), ms, s, m, h";
        match self {
            DurationError::Empty => write!(
                f,
                "empty duration; write a number and a unit such as \"200ms\""
            ),
            DurationError::MissingUnit { number } => {
                write!(
                    f,
                    "`{number}` has no unit; write e.g. \"{number}ms\" (units: {UNITS})"
                )
            }
            DurationError::UnknownUnit { unit } => {
                write!(f, "unknown duration unit `{unit}`; expected one of {UNITS}")
            }
            DurationError::BadNumber { text } => {
                write!(
                    f,
                    "`{text}` is not a number; write a duration such as \"1.5s\""
                )
            }
            DurationError::Overflow => write!(f, "duration is too large"),
        }
    }
}

impl std::error::Error for DurationError {}

fn unit_nanos(unit: &str) -> Option<f64> {
    Some(match unit {
        "ns" => 1.0,
        "us" | "µs" | "μs" => 1e3,
        "ms" => 1e6,
        "s" => 1e9,
        "m" => 60e9,
        "h" => 3600e9,
        _ => return None,
    })
}

/// Parses a duration such as `"200ms"`, `"1.5s"`, `"2m30s"` or `"250µs"`.
///
/// A duration is one or more `<number><unit>` parts (fractions allowed,
/// white space between parts allowed), summed. Units: `ns`, `us`/`µs`, `ms`,
/// `s`, `m` (minutes), `h`. Zero is accepted here; callers that need a
/// positive duration check for it, so they can say which key was zero.
pub fn parse_duration(text: &str) -> Result<Duration, DurationError> {
    let s = text.trim();
    if s.is_empty() {
        return Err(DurationError::Empty);
    }
    let mut total_nanos: f64 = 0.0;
    let mut rest = s;
    while !rest.is_empty() {
        let num_len = rest
            .char_indices()
            .find(|&(_, c)| !(c.is_ascii_digit() || c == '.' || c == '_'))
            .map_or(rest.len(), |(i, _)| i);
        let (num, tail) = rest.split_at(num_len);
        // "5 ms" reads as well as "5ms".
        let tail = tail.trim_start();
        let unit_len = tail
            .char_indices()
            .find(|&(_, c)| c.is_ascii_digit() || c == '.' || c.is_whitespace())
            .map_or(tail.len(), |(i, _)| i);
        let (unit, tail) = tail.split_at(unit_len);
        if num.is_empty() {
            let word: String = rest.split_whitespace().next().unwrap_or(rest).to_owned();
            return Err(DurationError::BadNumber { text: word });
        }
        let value: f64 = num
            .replace('_', "")
            .parse()
            .map_err(|_| DurationError::BadNumber {
                text: num.to_owned(),
            })?;
        if unit.is_empty() {
            return Err(DurationError::MissingUnit {
                number: num.to_owned(),
            });
        }
        let scale = unit_nanos(unit).ok_or_else(|| DurationError::UnknownUnit {
            unit: unit.to_owned(),
        })?;
        total_nanos += value * scale;
        rest = tail.trim_start();
    }
    // u64 nanoseconds cover 584 years: far beyond any test.
    if !total_nanos.is_finite() || total_nanos >= u64::MAX as f64 {
        return Err(DurationError::Overflow);
    }
    Ok(Duration::from_nanos(total_nanos.round() as u64))
}

/// Formats a duration for people: at most three significant digits and the
/// largest unit that keeps the number at or above 1 (`12.3ms`, `845µs`,
/// `1.5s`, `50ms`, `2m05s`).
pub fn format_duration(d: Duration) -> String {
    let ns = d.as_nanos() as f64;
    if ns < 1e3 {
        return format!("{}ns", d.as_nanos());
    }
    let (value, unit) = if ns < 1e6 {
        (ns / 1e3, "µs")
    } else if ns < 1e9 {
        (ns / 1e6, "ms")
    } else if ns < 60e9 {
        (ns / 1e9, "s")
    } else {
        // Whole units, zero parts left out: 1m, 2m05s, 1h, 1h30m.
        let secs = d.as_secs();
        let (h, m, s) = (secs / 3600, secs / 60 % 60, secs % 60);
        let mut out = String::new();
        if h > 0 {
            out.push_str(&format!("{h}h"));
        }
        if m > 0 || (h > 0 && s > 0) {
            out.push_str(&if h > 0 {
                format!("{m:02}m")
            } else {
                format!("{m}m")
            });
        }
        if s > 0 {
            out.push_str(&format!("{s:02}s"));
        }
        return out;
    };
    format!("{}{unit}", three_significant(value))
}

/// Three significant digits, trailing zeros dropped (`3.1`, `50`, `1.25`).
fn three_significant(v: f64) -> String {
    let s = if v >= 100.0 {
        format!("{v:.0}")
    } else if v >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    };
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_owned()
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn units() {
        assert_eq!(parse_duration("200ms"), Ok(Duration::from_millis(200)));
        assert_eq!(parse_duration("1.5ms"), Ok(Duration::from_micros(1500)));
        assert_eq!(parse_duration("250µs"), Ok(Duration::from_micros(250)));
        assert_eq!(parse_duration("250us"), Ok(Duration::from_micros(250)));
        assert_eq!(parse_duration("7ns"), Ok(Duration::from_nanos(7)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("2m30s"), Ok(Duration::from_secs(150)));
        assert_eq!(parse_duration(" 1h 1s "), Ok(Duration::from_secs(3601)));
        assert_eq!(parse_duration("0.5s"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("1_000ms"), Ok(Duration::from_secs(1)));
        assert_eq!(parse_duration("0s"), Ok(Duration::ZERO));
        assert_eq!(parse_duration("5 ms"), Ok(Duration::from_millis(5)));
    }

    #[test]
    fn rejects() {
        assert_eq!(parse_duration(""), Err(DurationError::Empty));
        assert_eq!(
            parse_duration("200"),
            Err(DurationError::MissingUnit {
                number: "200".into()
            })
        );
        assert_eq!(
            parse_duration("200xs"),
            Err(DurationError::UnknownUnit { unit: "xs".into() })
        );
        assert_eq!(
            parse_duration("fast"),
            Err(DurationError::BadNumber {
                text: "fast".into()
            })
        );
        assert_eq!(
            parse_duration("1..2s"),
            Err(DurationError::BadNumber {
                text: "1..2".into()
            })
        );
        assert_eq!(
            parse_duration("-1s"),
            Err(DurationError::BadNumber { text: "-1s".into() })
        );
        assert!(parse_duration("99999999999h").is_err());
        assert_eq!(
            parse_duration("5 minutes"),
            Err(DurationError::UnknownUnit {
                unit: "minutes".into()
            })
        );
        let msg = parse_duration("3 sec").unwrap_err().to_string();
        assert!(msg.contains("`sec`") && msg.contains("ms"), "{msg}");
    }

    #[test]
    fn formats() {
        assert_eq!(format_duration(Duration::from_nanos(999)), "999ns");
        assert_eq!(format_duration(Duration::from_nanos(12_345_678)), "12.3ms");
        assert_eq!(format_duration(Duration::from_micros(845)), "845µs");
        assert_eq!(format_duration(Duration::from_millis(1500)), "1.5s");
        assert_eq!(format_duration(Duration::from_millis(50)), "50ms");
        assert_eq!(format_duration(Duration::from_micros(3100)), "3.1ms");
        assert_eq!(format_duration(Duration::from_secs(125)), "2m05s");
        assert_eq!(format_duration(Duration::from_secs(3725)), "1h02m05s");
        assert_eq!(format_duration(Duration::from_secs(60)), "1m");
        assert_eq!(format_duration(Duration::from_secs(3600)), "1h");
        assert_eq!(format_duration(Duration::from_secs(5400)), "1h30m");
        assert_eq!(format_duration(Duration::from_secs(3605)), "1h00m05s");
    }

    proptest! {
        #[test]
        fn integer_units_round_trip(n in 0u64..1_000_000, unit in 0usize..5) {
            let (suffix, d) = [
                ("ns", Duration::from_nanos(n)),
                ("us", Duration::from_micros(n)),
                ("ms", Duration::from_millis(n)),
                ("s", Duration::from_secs(n)),
                ("m", Duration::from_secs(n * 60)),
            ][unit];
            prop_assert_eq!(parse_duration(&format!("{n}{suffix}")), Ok(d));
        }

        #[test]
        fn fractions_are_exact_to_the_nanosecond(whole in 0u64..10_000, frac in 0u64..1000) {
            let d = parse_duration(&format!("{whole}.{frac:03}ms")).unwrap();
            prop_assert_eq!(d, Duration::from_nanos(whole * 1_000_000 + frac * 1000));
        }

        #[test]
        fn formatted_durations_parse_back_within_rounding(ns in 0u64..3_000_000_000_000) {
            let d = Duration::from_nanos(ns);
            let back = parse_duration(&format_duration(d)).unwrap();
            let err = (back.as_nanos() as f64 - ns as f64).abs();
            // three significant digits: relative error at most 0.5% (+1ns);
            // beyond a minute whole seconds are shown (truncated: < 1s off).
            prop_assert!(err <= ns as f64 * 0.005 + 1.0 || (ns >= 60_000_000_000 && err < 1e9), "{ns} -> {back:?}");
        }

        #[test]
        fn never_panics(s in "\\PC{0,12}") {
            let _ = parse_duration(&s);
        }
    }
}
