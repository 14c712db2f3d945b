//! The only reader of `PERF_*` variables: run-time overrides of the load
//! shape, and the typed [`Config`] of what happens after a run, each read
//! through a lookup (the process environment in real runs, a map in
//! tests).
//!
//! # Load overrides
//!
//! | variable | overrides | also read (the Go framework's name) |
//! |---|---|---|
//! | `PERF_WORKERS` | `workers` | `PERFORMANCE_TEST_CONCURRENCY` |
//! | `PERF_REPEAT` | `repeat` (and drops `duration`); `auto` makes it `repeat = "auto"` | |
//! | `PERF_DURATION` | `duration` (and drops `repeat`, `"auto"` too) | `PERFORMANCE_TEST_DURATION` |
//! | `PERF_RATE` | `rate` of open-model tests (`1000`, `"500/s"`, `"30000/m"`) | |
//! | `PERF_PROFILE` | `profile` of open-model tests with a `duration` | |
//! | `PERF_MONITOR` | `monitor`: processes sampled beside the test's own, `pid:<id>` or `name:<process name>`, comma-separated (replaces the attribute's list) | |
//! | `PERF_BATCH` | iterations per clock pair of sub-microsecond closed-model bodies: `auto` (default), `off` (= `1`), or a number up to 10,000 | |
//!
//! `PERF_RATE` and `PERF_PROFILE` leave closed-model tests as they are, so a
//! whole suite can be run with them. `PERF_REPEAT` on an open-model test,
//! and `PERF_DURATION` or `PERF_PROFILE` on a test with `stages`, are errors:
//! they cannot mean what they say there.
//!
//! The `PERF_` name wins over the Go framework's name. Setting both
//! `PERF_REPEAT` and `PERF_DURATION` is an error; `PERF_REPEAT` beside the
//! older `PERFORMANCE_TEST_DURATION` (often exported for a whole shell)
//! simply wins. An empty value counts as unset. Any other value that does
//! not parse fails the test with the variable's name and value.

use crate::model::after::Publish;
use crate::model::error::Error;
use crate::model::load::{Auto, Batch, LoadShape, Stop, DEFAULT_MAX_REPEAT};
use crate::output::print::SummaryMode;

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
        if value.trim() == "auto" {
            if load.auto.is_none() {
                load.auto = Some(Auto { max_duration: None });
                load.stop = Stop::Repeat(DEFAULT_MAX_REPEAT);
            }
        } else {
            load.stop = Stop::Repeat(positive(&var, &value, "iterations")?);
            load.auto = None;
        }
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
        load.auto = None;
        load.overrides.push(format!("{var}={value}"));
    }
    if let Some((var, value)) = read(&["PERF_BATCH"]) {
        load.batch = Batch::parse(&value).map_err(|reason| Error::Env {
            var: var.clone(),
            value: value.clone(),
            reason,
        })?;
        load.overrides.push(format!("{var}={value}"));
    }
    if let Some((var, value)) = read(&["PERF_MONITOR"]) {
        load.monitor = perf_spec::Monitor::parse_list(&value).map_err(|reason| Error::Env {
            var: var.clone(),
            value: value.clone(),
            reason,
        })?;
        load.overrides.push(format!("{var}={value}"));
    }
    if load.is_open() {
        if let Some((var, value)) = read(&["PERF_RATE"]) {
            load.rate = Some(rate(&value)?);
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

/// A non-empty variable of the process environment: the lookup every
/// `PERF_*` reader takes in real runs (tests pass a map instead).
pub(crate) fn process(var: &str) -> Option<String> {
    std::env::var(var).ok().filter(|v| !v.trim().is_empty())
}

fn env_error(var: &str, value: &str, reason: impl Into<String>) -> Error {
    Error::Env {
        var: var.to_owned(),
        value: value.to_owned(),
        reason: reason.into(),
    }
}

/// An on/off variable read through `get`: `None` when unset or empty.
pub(crate) fn flag(get: &dyn Fn(&str) -> Option<String>, var: &str) -> Result<Option<bool>, Error> {
    let Some(value) = get(var) else {
        return Ok(None);
    };
    match value.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Ok(Some(true)),
        "" | "0" | "false" | "no" | "off" => Ok(Some(false)),
        _ => Err(env_error(
            var,
            &value,
            "expected a true value (1, true, yes, on) or a false one (0, false, no, off)",
        )),
    }
}

/// Reads an on/off environment variable such as `LOAD_TEST` (which gates
/// heavy tests): `1`, `true`, `yes`, `on` (any case) are on; unset, empty,
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
    flag(&process, var).map(|on| on.unwrap_or(false))
}

/// `var` parsed by `parse`, if set.
fn parsed<T>(
    get: &dyn Fn(&str) -> Option<String>,
    var: &str,
    parse: impl Fn(&str) -> Result<T, String>,
) -> Result<Option<T>, Error> {
    get(var)
        .map(|v| parse(&v).map_err(|r| env_error(var, &v, r)))
        .transpose()
}

/// `PERF_SUMMARY`: `stderr` (default), `captured` or `never`.
pub(crate) fn summary_mode(get: &dyn Fn(&str) -> Option<String>) -> Result<SummaryMode, Error> {
    let Some(value) = get("PERF_SUMMARY") else {
        return Ok(SummaryMode::Stderr);
    };
    match value.trim().to_ascii_lowercase().as_str() {
        "stderr" | "always" => Ok(SummaryMode::Stderr),
        "captured" => Ok(SummaryMode::Captured),
        "never" => Ok(SummaryMode::Never),
        _ => Err(env_error(
            "PERF_SUMMARY",
            &value,
            "expected `stderr` (the default), `captured` or `never`",
        )),
    }
}

/// `PERF_NAMESPACE`, checked as the attribute checks `namespace`.
pub(crate) fn namespace(get: &dyn Fn(&str) -> Option<String>) -> Result<Option<String>, Error> {
    match get("PERF_NAMESPACE") {
        None => Ok(None),
        Some(v) => match perf_spec::check_namespace(&v) {
            Ok(()) => Ok(Some(v)),
            Err(r) => Err(env_error("PERF_NAMESPACE", &v, r)),
        },
    }
}

/// Checks, before a run, every `PERF_*` variable that is only read after
/// it (so that a typo fails at once, not after a long run) or that this
/// test ignores (`PERF_RATE` on a closed-model test): one error form,
/// `environment variable X="v": …`.
pub(crate) fn check(get: &dyn Fn(&str) -> Option<String>) -> Result<(), Error> {
    flag(get, "PERF_PROGRESS")?;
    flag(get, "PERF_EXCLUSIVE")?;
    Config::from_lookup(get)?;
    if let Some(v) = get("PERF_RATE") {
        rate(&v)?;
    }
    Ok(())
}

fn rate(value: &str) -> Result<f64, Error> {
    let rate = perf_spec::parse_rate(value).map_err(|r| env_error("PERF_RATE", value, r))?;
    if rate == 0.0 {
        return Err(env_error("PERF_RATE", value, "the rate must be positive"));
    }
    Ok(rate)
}

/// What the end of a run reads from the environment, parsed and checked
/// once: the baseline to compare with and to save, the significance
/// level, where metrics and shard results go, where summaries go.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Config {
    /// `PERF_BASELINE`, else `PERFORMANCE_TEST_BASELINE_VERSION`.
    pub(crate) baseline: Option<String>,
    /// `PERF_REQUIRE_BASELINE`.
    pub(crate) require_baseline: bool,
    /// `PERF_SAVE_BASELINE`.
    pub(crate) save_baseline: Option<String>,
    /// `PERF_ALPHA`, if set.
    pub(crate) alpha: Option<f64>,
    /// `PERF_PUBLISH` (replaces what the test declares).
    pub(crate) publish: Option<Vec<Publish>>,
    /// `PERF_NAMESPACE`.
    pub(crate) namespace: Option<String>,
    /// `PERF_VERSION`: the `Version` dimension of published metrics.
    pub(crate) version: Option<String>,
    /// `PERF_RESULTS`: where a shard's result also goes.
    pub(crate) results: Option<String>,
    /// `PERF_SUMMARY`.
    pub(crate) summary: SummaryMode,
    /// `PERF_RUNS`: independent runs of the whole load.
    pub(crate) runs: Option<u32>,
    /// `PERF_CONFIDENCE`: the confidence of every interval.
    pub(crate) confidence: Option<f64>,
    /// `PERF_INCONCLUSIVE`: what an inconclusive verdict does.
    pub(crate) inconclusive: Option<perf_spec::Inconclusive>,
}

impl Config {
    /// Reads every setting through `get`; an empty lookup gives the
    /// defaults.
    pub(crate) fn from_lookup(get: &dyn Fn(&str) -> Option<String>) -> Result<Config, Error> {
        let publish = match get("PERF_PUBLISH") {
            Some(v) => Some(
                perf_spec::parse_publish_targets(&v)
                    .map_err(|r| env_error("PERF_PUBLISH", &v, r))?
                    .into_iter()
                    .map(Publish::from)
                    .collect(),
            ),
            None => None,
        };
        Ok(Config {
            baseline: get("PERF_BASELINE").or_else(|| get("PERFORMANCE_TEST_BASELINE_VERSION")),
            require_baseline: flag(get, "PERF_REQUIRE_BASELINE")?.unwrap_or(false),
            save_baseline: get("PERF_SAVE_BASELINE"),
            alpha: parsed(get, "PERF_ALPHA", perf_spec::parse_alpha)?,
            publish,
            namespace: namespace(get)?,
            version: get("PERF_VERSION"),
            results: get("PERF_RESULTS"),
            summary: summary_mode(get)?,
            runs: parsed(get, "PERF_RUNS", perf_spec::parse_runs)?,
            confidence: parsed(get, "PERF_CONFIDENCE", perf_spec::parse_confidence)?,
            inconclusive: parsed(get, "PERF_INCONCLUSIVE", perf_spec::parse_inconclusive)?,
        })
    }

    /// From the process environment.
    pub(crate) fn from_env() -> Result<Config, Error> {
        Config::from_lookup(&process)
    }
}

/// Prints `text` where `PERF_SUMMARY` says (to stderr if it is malformed:
/// it was checked before the run).
pub(crate) fn print_summary(text: &str) {
    let mode = summary_mode(&process).unwrap_or_default();
    crate::output::print::print(text, mode);
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

    fn config_with(vars: &[(&str, &str)]) -> Result<Config, Error> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::from_lookup(&|k| map.get(k).cloned())
    }

    #[test]
    fn the_end_of_run_configuration_comes_from_the_lookup_alone() {
        assert_eq!(config_with(&[]).unwrap(), Config::default());
        let c = config_with(&[
            ("PERFORMANCE_TEST_BASELINE_VERSION", "v0"),
            ("PERF_REQUIRE_BASELINE", "yes"),
            ("PERF_SAVE_BASELINE", "v2"),
            ("PERF_ALPHA", "0.01"),
            ("PERF_PUBLISH", "emf,cloudwatch"),
            ("PERF_NAMESPACE", "Shop/Perf"),
            ("PERF_VERSION", "1.2.3"),
            ("PERF_RESULTS", "s3://b/p/"),
            ("PERF_SUMMARY", "never"),
            ("PERF_RUNS", "5"),
            ("PERF_CONFIDENCE", "0.99"),
            ("PERF_INCONCLUSIVE", "fail"),
        ])
        .unwrap();
        assert_eq!(c.runs, Some(5));
        assert_eq!(c.confidence, Some(0.99));
        assert_eq!(c.inconclusive, Some(perf_spec::Inconclusive::Fail));
        assert_eq!(c.baseline.as_deref(), Some("v0"));
        assert!(c.require_baseline);
        assert_eq!(c.save_baseline.as_deref(), Some("v2"));
        assert_eq!(c.alpha, Some(0.01));
        assert_eq!(c.publish, Some(vec![Publish::Emf, Publish::CloudWatch]));
        assert_eq!(c.namespace.as_deref(), Some("Shop/Perf"));
        assert_eq!(c.version.as_deref(), Some("1.2.3"));
        assert_eq!(c.results.as_deref(), Some("s3://b/p/"));
        assert_eq!(c.summary, SummaryMode::Never);
        // The framework's own name wins over the older one.
        let both = config_with(&[
            ("PERF_BASELINE", "v1"),
            ("PERFORMANCE_TEST_BASELINE_VERSION", "v0"),
        ])
        .unwrap();
        assert_eq!(both.baseline.as_deref(), Some("v1"));
        for (var, value) in [
            ("PERF_RUNS", "0"),
            ("PERF_CONFIDENCE", "1.5"),
            ("PERF_INCONCLUSIVE", "maybe"),
            ("PERF_ALPHA", "0.9"),
            ("PERF_REQUIRE_BASELINE", "maybe"),
            ("PERF_PUBLISH", "kafka"),
            ("PERF_SUMMARY", "loud"),
        ] {
            let e = config_with(&[(var, value)]).unwrap_err().to_string();
            assert!(e.contains(var) && e.contains(value), "{e}");
        }
    }

    #[test]
    fn perf_repeat_turns_auto_on_and_a_count_or_time_turns_it_off() {
        let l = apply_with(&[("PERF_REPEAT", "auto")]).unwrap();
        assert_eq!(l.auto, Some(Auto { max_duration: None }));
        assert_eq!(l.stop, Stop::Repeat(DEFAULT_MAX_REPEAT));
        let capped = LoadShape {
            auto: Some(Auto { max_duration: None }),
            stop: Stop::Repeat(500),
            ..LoadShape::default()
        };
        for (var, value, auto, stop) in [
            ("PERF_REPEAT", "auto", true, Stop::Repeat(500)),
            ("PERF_REPEAT", "300", false, Stop::Repeat(300)),
            (
                "PERF_DURATION",
                "2s",
                false,
                Stop::Duration(Duration::from_secs(2)),
            ),
        ] {
            let mut l = capped.clone();
            let get = |k: &str| (k == var).then(|| value.to_owned());
            apply(&mut l, &get).unwrap();
            assert_eq!((l.auto.is_some(), l.stop), (auto, stop), "{var}={value}");
        }
        let e = apply_with(&[("PERF_REPEAT", "often")])
            .unwrap_err()
            .to_string();
        assert!(e.contains("PERF_REPEAT") && e.contains("often"), "{e}");
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
        assert_eq!(l.batch, Batch::Auto);
        for (value, batch) in [
            ("off", Batch::Off),
            ("64", Batch::Fixed(64)),
            ("auto", Batch::Auto),
        ] {
            let l = apply_with(&[("PERF_BATCH", value)]).unwrap();
            assert_eq!(l.batch, batch, "PERF_BATCH={value}");
            assert_eq!(l.overrides, [format!("PERF_BATCH={value}")]);
        }
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
            ("PERF_BATCH", "0", "at least 1 iteration"),
            ("PERF_MONITOR", "orders-fn", "expected `pid:<id>` or `name:"),
            ("PERF_MONITOR", "pid:x", "whole number"),
            ("PERF_BATCH", "many", "expected `auto`, `off`"),
            ("PERF_BATCH", "20000", "at most 10000"),
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

    fn lookup(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| map.get(k).cloned().filter(|v| !v.trim().is_empty())
    }

    #[test]
    fn every_variable_fails_the_same_way_on_a_bad_value() {
        for (var, value) in [
            ("PERF_REQUIRE_BASELINE", "maybe"),
            ("PERF_PROGRESS", "yes please"),
            ("PERF_EXCLUSIVE", "sometimes"),
            ("PERF_SUMMARY", "nevr"),
            ("PERF_ALPHA", "lots"),
            ("PERF_ALPHA", "NaN"),
            ("PERF_ALPHA", "2"),
            ("PERF_NAMESPACE", "AWS/x"),
            ("PERF_RATE", "lots"),
            ("PERF_PUBLISH", "stdout"),
        ] {
            let e = check(&lookup(&[(var, value)])).unwrap_err().to_string();
            assert!(
                e.starts_with(&format!("environment variable {var}={value:?}: ")),
                "{e}"
            );
        }
        let long = "n".repeat(300);
        assert!(check(&lookup(&[("PERF_NAMESPACE", &long)])).is_err());
        check(&lookup(&[
            ("PERF_SUMMARY", "captured"),
            ("PERF_PROGRESS", "1"),
            ("PERF_ALPHA", "0.01"),
            ("PERF_RATE", "500/s"),
        ]))
        .unwrap();
    }

    #[test]
    fn false_words_mean_false_in_any_case() {
        for off in ["off", "OFF", "False", "No", "0"] {
            let get = lookup(&[("PERF_REQUIRE_BASELINE", off)]);
            assert_eq!(
                flag(&get, "PERF_REQUIRE_BASELINE").unwrap(),
                Some(false),
                "{off}"
            );
        }
        for on in ["ON", "True", "yes", "1"] {
            let get = lookup(&[("PERF_REQUIRE_BASELINE", on)]);
            assert_eq!(
                flag(&get, "PERF_REQUIRE_BASELINE").unwrap(),
                Some(true),
                "{on}"
            );
        }
        assert_eq!(flag(&lookup(&[]), "PERF_REQUIRE_BASELINE").unwrap(), None);
        assert_eq!(
            parsed(&lookup(&[]), "PERF_ALPHA", perf_spec::parse_alpha).unwrap(),
            None
        );
        assert_eq!(
            summary_mode(&lookup(&[("PERF_SUMMARY", "Never")])).unwrap(),
            SummaryMode::Never
        );
    }

    #[test]
    fn a_bad_rate_fails_a_closed_model_test_too() {
        // apply leaves closed-model tests alone; check still refuses it.
        let l = apply_with(&[("PERF_RATE", "lots")]).unwrap();
        assert_eq!(l.rate, None);
        assert!(check(&lookup(&[("PERF_RATE", "lots")])).is_err());
    }
}
