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
//! | `PERF_CPU_PROFILE` | `cpu_profile`: `1` (or `true`) profiles every perf test at 99 Hz, a number from 2 to 1000 at that rate, `0` (or `false`) none | |
//! | `PERF_HEAP_PROFILE` | `heap_profile`: `1` (or `true`) samples the allocations of every perf test with their stacks (needs the tracking allocator), `0` (or `false`) none | |
//! | `PERF_HEAP_PROFILE_RATE` | the mean bytes between two heap-profile samples of the tests that take one: bytes or a size (`4096`, `"64KiB"`; default 512KiB) | |
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
    if let Some((var, value)) = read(&["PERF_CPU_PROFILE"]) {
        load.cpu_profile = cpu_profile(&value).map_err(|reason| Error::Env {
            var: var.clone(),
            value: value.clone(),
            reason,
        })?;
        load.overrides.push(format!("{var}={value}"));
    }
    if let Some((var, value)) = read(&["PERF_HEAP_PROFILE"]) {
        let on = on_off(&value).ok_or_else(|| Error::Env {
            var: var.clone(),
            value: value.clone(),
            reason: "expected `1` (take a heap profile) or `0`".into(),
        })?;
        load.heap_profile = on.then(|| {
            load.heap_profile
                .unwrap_or(crate::model::profile::DEFAULT_HEAP_PROFILE_RATE)
        });
        load.overrides.push(format!("{var}={value}"));
    }
    if let Some((var, value)) = read(&["PERF_HEAP_PROFILE_RATE"]) {
        let rate = perf_spec::parse_heap_rate(&value).map_err(|reason| Error::Env {
            var: var.clone(),
            value: value.clone(),
            reason,
        })?;
        if load.heap_profile.is_some() {
            load.heap_profile = Some(rate);
            load.overrides.push(format!("{var}={value}"));
        }
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

/// A switch's value: `Some(true)` for on, `Some(false)` for off.
fn on_off(value: &str) -> Option<bool> {
    match value.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Some(true),
        "0" | "false" | "no" | "off" => Some(false),
        _ => None,
    }
}

/// `PERF_CPU_PROFILE`: on at the default rate, off, or a rate in Hz.
fn cpu_profile(value: &str) -> Result<Option<u32>, String> {
    use crate::model::profile::{DEFAULT_PROFILE_HZ, MAX_PROFILE_HZ};
    if let Some(on) = on_off(value) {
        return Ok(on.then_some(DEFAULT_PROFILE_HZ));
    }
    let v = value.trim().to_ascii_lowercase();
    match v.trim_end_matches("hz").parse::<u32>() {
        Ok(hz) if (2..=MAX_PROFILE_HZ).contains(&hz) => Ok(Some(hz)),
        Ok(hz) => Err(format!(
            "{hz} Hz is outside 2..={MAX_PROFILE_HZ} (`1` profiles at {DEFAULT_PROFILE_HZ} Hz)"
        )),
        Err(_) => Err(format!(
            "expected `1` (profile at {DEFAULT_PROFILE_HZ} Hz), `0`, or a sampling rate up to {MAX_PROFILE_HZ}"
        )),
    }
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

pub(crate) fn env_error(var: &str, value: &str, reason: impl Into<String>) -> Error {
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
    match on_off(&value) {
        Some(on) => Ok(Some(on)),
        None if value.trim().is_empty() => Ok(Some(false)),
        None => Err(env_error(
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
    // Checked on every test, not only on one with a search.
    if let Some(v) = get("PERF_CAPACITY_RANGE") {
        capacity_range(&v)?;
    }
    if let Some(v) = get("PERF_CAPACITY_HOLD") {
        capacity_hold(&v)?;
    }
    Ok(())
}

/// `PERF_CAPACITY_RANGE`: `low..=high` (or `low..high`), two positive
/// numbers (rates per second, or workers for a search over workers).
pub(crate) fn capacity_range(value: &str) -> Result<(f64, f64), Error> {
    const VAR: &str = "PERF_CAPACITY_RANGE";
    let (low, high) = value
        .split_once("..=")
        .or_else(|| value.split_once(".."))
        .ok_or_else(|| env_error(VAR, value, "expected `low..=high`, e.g. 50..=20000"))?;
    let end = |s: &str, which: &str| {
        let s = s.trim();
        // `20...100` is not `20..=0.1`: an end is a whole number or a
        // decimal with digits on both sides of its point.
        let plain = !s.starts_with('.') && !s.ends_with('.');
        match s.parse::<f64>() {
            Ok(x) if plain && x.is_finite() && x > 0.0 => Ok(x),
            Ok(x) if plain && x.is_finite() => Err(env_error(
                VAR,
                value,
                format!("the {which} end is {s}: the ends are positive rates per second (or workers), e.g. 50..=20000"),
            )),
            _ => Err(env_error(
                VAR,
                value,
                format!("the {which} end `{s}` is not a number: expected `low..=high`, e.g. 50..=20000"),
            )),
        }
    };
    Ok((end(low, "low")?, end(high, "high")?))
}

/// `PERF_CAPACITY_HOLD`: how long each step holds its load (`10s`).
pub(crate) fn capacity_hold(value: &str) -> Result<std::time::Duration, Error> {
    const VAR: &str = "PERF_CAPACITY_HOLD";
    if value.trim().starts_with('-') {
        return Err(env_error(
            VAR,
            value,
            "a hold is a positive duration, e.g. 10s",
        ));
    }
    perf_spec::parse_duration(value).map_err(|e| env_error(VAR, value, e.to_string()))
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
        let publish: Option<Vec<Publish>> = match get("PERF_PUBLISH") {
            Some(v) => Some(
                perf_spec::parse_publish_targets(&v)
                    .map_err(|r| env_error("PERF_PUBLISH", &v, r))?
                    .into_iter()
                    .map(Publish::from)
                    .collect(),
            ),
            None => None,
        };
        #[cfg(not(feature = "cloudwatch"))]
        if let (Some(v), Some(targets)) = (get("PERF_PUBLISH"), &publish) {
            if targets.contains(&Publish::CloudWatch) {
                return Err(env_error(
                    "PERF_PUBLISH",
                    &v,
                    "publishing to CloudWatch needs perf-runtime's `cloudwatch` cargo feature",
                ));
            }
        }
        for var in [
            "PERF_BASELINE",
            "PERFORMANCE_TEST_BASELINE_VERSION",
            "PERF_SAVE_BASELINE",
        ] {
            if let Some(v) = get(var) {
                crate::model::baseline::check_version(&v)
                    .map_err(|e| env_error(var, &v, e.to_string()))?;
            }
        }
        let results = get("PERF_RESULTS");
        if let Some(v) = &results {
            results_destination(v)?;
        }
        Ok(Config {
            baseline: get("PERF_BASELINE").or_else(|| get("PERFORMANCE_TEST_BASELINE_VERSION")),
            require_baseline: flag(get, "PERF_REQUIRE_BASELINE")?.unwrap_or(false),
            save_baseline: get("PERF_SAVE_BASELINE"),
            alpha: parsed(get, "PERF_ALPHA", perf_spec::parse_alpha)?,
            publish,
            namespace: namespace(get)?,
            version: get("PERF_VERSION"),
            results,
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

/// A `PERF_RESULTS` a shard can write to: a directory, or (feature
/// `s3`) `s3://bucket/prefix/`; any other scheme is a mistake, not a
/// directory named `ftp:`.
fn results_destination(v: &str) -> Result<(), Error> {
    let bad = |reason: &str| Err(env_error("PERF_RESULTS", v, reason));
    if v.trim().is_empty() {
        return bad("empty: give a directory, or s3://bucket/prefix/");
    }
    match v.split_once("://") {
        None => Ok(()),
        Some(("s3", _)) if cfg!(feature = "s3") => Ok(()),
        Some(("s3", _)) => bad("s3:// destinations need perf-runtime's `s3` feature"),
        Some((scheme, _)) => bad(&format!(
            "`{scheme}://` is not a destination perf-runtime writes to: give a directory, or s3://bucket/prefix/"
        )),
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
mod tests;
