//! Run-time overrides of the load shape from environment variables.
//!
//! | variable | overrides | also read (the original framework's name) |
//! |---|---|---|
//! | `PERF_WORKERS` | `workers` | `PERFORMANCE_TEST_CONCURRENCY` |
//! | `PERF_REPEAT` | `repeat` (and drops `duration`) | |
//! | `PERF_DURATION` | `duration` (and drops `repeat`) | `PERFORMANCE_TEST_DURATION` |
//! | `PERF_RATE` | `rate` of open-model tests (`1000`, `"500/s"`, `"30000/m"`) | |
//! | `PERF_PROFILE` | `profile` of open-model tests with a `duration` | |
//!
//! `PERF_RATE` and `PERF_PROFILE` leave closed-model tests as they are, so a
//! whole suite can be run with them. `PERF_REPEAT` on an open-model test,
//! and `PERF_DURATION` or `PERF_PROFILE` on a test with `stages`, are errors:
//! they cannot mean what they say there.
//!
//! The `PERF_` name wins over the original framework's name. Setting both
//! `PERF_REPEAT` and `PERF_DURATION` is an error; `PERF_REPEAT` beside the
//! older `PERFORMANCE_TEST_DURATION` (often exported for a whole shell)
//! simply wins. An empty value counts as unset. Any other value that does
//! not parse fails the test with the variable's name and value.

use crate::load::{LoadShape, Stop};
use crate::Error;

/// Applies the overrides found through `get` (the process environment in
/// real runs) to `load`, recording each applied one in `load.overrides`.
pub(crate) fn apply(
    load: &mut LoadShape,
    get: &dyn Fn(&str) -> Option<String>,
) -> Result<(), Error> {
    let read = |names: &[&str]| {
        names.iter().find_map(|&n| {
            get(n)
                .filter(|v| !v.trim().is_empty())
                .map(|v| (n.to_owned(), v))
        })
    };
    if let Some((var, value)) = read(&["PERF_WORKERS", "PERFORMANCE_TEST_CONCURRENCY"]) {
        load.workers = positive(&var, &value, "workers")? as usize;
        load.overrides.push(format!("{var}={value}"));
    }
    let repeat = read(&["PERF_REPEAT"]);
    let duration = read(&["PERF_DURATION"]);
    if let (Some((rv, r)), Some((dv, d))) = (&repeat, &duration) {
        return Err(Error::Env {
            var: dv.clone(),
            value: d.clone(),
            reason: format!(
                "{rv}={r} is set too; set one of them (a count of iterations, or a time)"
            ),
        });
    }
    let duration = duration.or_else(|| {
        if repeat.is_none() {
            read(&["PERFORMANCE_TEST_DURATION"])
        } else {
            None
        }
    });
    if let Some((var, value)) = repeat {
        load.stop = Stop::Repeat(positive(&var, &value, "iterations")?);
        load.overrides.push(format!("{var}={value}"));
    }
    if let Some((var, value)) = duration {
        let d = perf_spec::parse_duration(&value).map_err(|e| Error::Env {
            var: var.clone(),
            value: value.clone(),
            reason: e.to_string(),
        })?;
        if d.is_zero() {
            return Err(Error::Env {
                var,
                value,
                reason: "the duration must be longer than zero".into(),
            });
        }
        load.stop = Stop::Duration(d);
        load.overrides.push(format!("{var}={value}"));
    }
    if load.is_open() {
        if let Some((var, value)) = read(&["PERF_RATE"]) {
            let rate = perf_spec::parse_rate(&value).map_err(|reason| Error::Env {
                var: var.clone(),
                value: value.clone(),
                reason,
            })?;
            if rate == 0.0 {
                return Err(Error::Env {
                    var,
                    value,
                    reason: "the rate must be positive".into(),
                });
            }
            load.rate = Some(rate);
            load.overrides.push(format!("{var}={value}"));
        }
        if let Some((var, value)) = read(&["PERF_PROFILE"]) {
            let profile =
                perf_spec::Profile::from_name(value.trim()).ok_or_else(|| Error::Env {
                    var: var.clone(),
                    value: value.clone(),
                    reason: format!(
                        "unknown profile; expected one of {}",
                        perf_spec::PROFILE_NAMES.join(", ")
                    ),
                })?;
            if !load.stages.is_empty() {
                return Err(Error::Env {
                    var,
                    value,
                    reason: "this test's `stages` already shape its load".into(),
                });
            }
            load.profile = Some(profile);
            load.overrides.push(format!("{var}={value}"));
        }
    }
    Ok(())
}

fn positive(var: &str, value: &str, what: &str) -> Result<u64, Error> {
    let err = |reason: String| Error::Env {
        var: var.to_owned(),
        value: value.to_owned(),
        reason,
    };
    match value.trim().replace('_', "").parse::<u64>() {
        Ok(0) => Err(err(format!("the number of {what} must be at least 1"))),
        Ok(n) => Ok(n),
        Err(_) => Err(err(format!("expected a positive whole number of {what}"))),
    }
}

/// Reads an on/off environment variable such as the original framework's
/// `LOAD_TEST`: `1`, `true`, `yes`, `on` (any case) are on; unset, empty,
/// `0`, `false`, `no`, `off` are off; anything else is an error naming the
/// variable and its value. `gate = "VAR"` uses it; so can a suite that
/// scales its load:
///
/// ```
/// let heavy = perf_runtime::env_flag("LOAD_TEST").unwrap();
/// let repeat = if heavy { 5_000 } else { 200 };
/// # let _ = repeat;
/// ```
pub fn env_flag(var: &str) -> Result<bool, Error> {
    let value = std::env::var(var).unwrap_or_default();
    match value.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Ok(true),
        "" | "0" | "false" | "no" | "off" => Ok(false),
        _ => Err(Error::Env {
            var: var.to_owned(),
            value,
            reason: "expected a true value (1, true, yes, on) or a false one (0, false, no, off)"
                .into(),
        }),
    }
}

/// Whether this runs in CI (`CI` set to anything but empty, `0` or `false`,
/// as GitHub Actions, GitLab and most CI systems set it).
#[cfg(feature = "aws")]
pub(crate) fn is_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !matches!(v.trim(), "" | "0" | "false" | "no"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;
    use std::time::Duration;

    fn apply_with(vars: &[(&str, &str)]) -> Result<LoadShape, Error> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let mut load = LoadShape::default();
        apply(&mut load, &|k| map.get(k).cloned())?;
        Ok(load)
    }

    #[test]
    fn overrides_and_precedence() {
        let l = apply_with(&[
            ("PERF_WORKERS", "8"),
            ("PERFORMANCE_TEST_CONCURRENCY", "50"),
        ])
        .unwrap();
        assert_eq!(l.workers, 8);
        assert_eq!(l.overrides, ["PERF_WORKERS=8"]);
        let l = apply_with(&[("PERFORMANCE_TEST_CONCURRENCY", "50")]).unwrap();
        assert_eq!(l.workers, 50);
        let l = apply_with(&[("PERFORMANCE_TEST_DURATION", "300s")]).unwrap();
        assert_eq!(l.stop, Stop::Duration(Duration::from_secs(300)));
        let l =
            apply_with(&[("PERF_REPEAT", "10"), ("PERFORMANCE_TEST_DURATION", "300s")]).unwrap();
        assert_eq!(l.stop, Stop::Repeat(10));
        let l = apply_with(&[
            ("PERF_DURATION", "1m30s"),
            ("PERFORMANCE_TEST_DURATION", "300s"),
        ])
        .unwrap();
        assert_eq!(l.stop, Stop::Duration(Duration::from_secs(90)));
        let l = apply_with(&[("PERF_WORKERS", " ")]).unwrap();
        assert_eq!(l.workers, LoadShape::default().workers);
    }

    #[test]
    fn malformed_values_name_the_variable_and_value() {
        for (var, value, needle) in [
            ("PERF_WORKERS", "abc", "positive whole number"),
            ("PERF_WORKERS", "0", "at least 1"),
            (
                "PERFORMANCE_TEST_CONCURRENCY",
                "-3",
                "positive whole number",
            ),
            ("PERF_REPEAT", "1e3", "positive whole number"),
            ("PERF_DURATION", "30", "no unit"),
            ("PERF_DURATION", "0s", "longer than zero"),
            (
                "PERFORMANCE_TEST_DURATION",
                "5 minutes",
                "unknown duration unit",
            ),
        ] {
            let e = apply_with(&[(var, value)]).unwrap_err().to_string();
            assert!(
                e.contains(var) && e.contains(value) && e.contains(needle),
                "{e}"
            );
        }
        let e = apply_with(&[("PERF_REPEAT", "10"), ("PERF_DURATION", "1s")])
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("PERF_REPEAT=10") && e.contains("PERF_DURATION"),
            "{e}"
        );
    }
}
