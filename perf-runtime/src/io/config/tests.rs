//! The `PERF_*` overrides and the end-of-run configuration, read through
//! a lookup.

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
        ("PERF_PUBLISH", "emf,emf:metrics.log"),
        ("PERF_NAMESPACE", "Shop/Perf"),
        ("PERF_VERSION", "1.2.3"),
        ("PERF_RESULTS", "results/run-1"),
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
    assert_eq!(
        c.publish,
        Some(vec![Publish::Emf, Publish::EmfFile("metrics.log".into())])
    );
    assert_eq!(c.namespace.as_deref(), Some("Shop/Perf"));
    assert_eq!(c.version.as_deref(), Some("1.2.3"));
    assert_eq!(c.results.as_deref(), Some("results/run-1"));
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
    let l = apply_with(&[("PERF_REPEAT", "10"), ("PERFORMANCE_TEST_DURATION", "300s")]).unwrap();
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
    for (value, hz) in [
        ("1", Some(99)),
        ("true", Some(99)),
        ("499", Some(499)),
        ("0", None),
    ] {
        let l = apply_with(&[("PERF_CPU_PROFILE", value)]).unwrap();
        assert_eq!(l.cpu_profile, hz, "PERF_CPU_PROFILE={value}");
    }
}

#[test]
fn heap_profile_variables_switch_it_and_set_its_rate() {
    let l = apply_with(&[("PERF_HEAP_PROFILE", "1")]).unwrap();
    assert_eq!(l.heap_profile, Some(512 * 1024));
    let l = apply_with(&[
        ("PERF_HEAP_PROFILE", "on"),
        ("PERF_HEAP_PROFILE_RATE", "4KiB"),
    ])
    .unwrap();
    assert_eq!(l.heap_profile, Some(4096));
    let l = apply_with(&[("PERF_HEAP_PROFILE_RATE", "4096")]).unwrap();
    assert_eq!(l.heap_profile, None, "the rate alone turns nothing on");
    let l = apply_with(&[("PERF_HEAP_PROFILE", "0")]).unwrap();
    assert_eq!(l.heap_profile, None);
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
        ("PERF_CPU_PROFILE", "5000", "outside 2..=1000"),
        ("PERF_CPU_PROFILE", "fast", "expected `1`"),
        ("PERF_HEAP_PROFILE", "sometimes", "expected `1`"),
        ("PERF_HEAP_PROFILE_RATE", "0", "from 1 byte to 1GiB"),
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
        ("PERF_SAVE_BASELINE", "../x"),
        ("PERF_BASELINE", "a/b"),
        ("PERFORMANCE_TEST_BASELINE_VERSION", ".."),
        ("PERF_RESULTS", "ftp://x"),
        #[cfg(not(feature = "cloudwatch"))]
        ("PERF_PUBLISH", "emf,cloudwatch"),
        #[cfg(not(feature = "s3"))]
        ("PERF_RESULTS", "s3://bucket/run-1/"),
    ] {
        let e = check(&lookup(&[(var, value)])).unwrap_err().to_string();
        assert!(
            e.starts_with(&format!("environment variable {var}={value:?}: ")),
            "{e}"
        );
    }
    let long = "n".repeat(300);
    assert!(check(&lookup(&[("PERF_NAMESPACE", &long)])).is_err());
    // A version too long for a file name, before the run, not after it.
    let e = check(&lookup(&[("PERF_SAVE_BASELINE", &long)]))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("PERF_SAVE_BASELINE") && e.contains("up to 100"),
        "{e}"
    );
    let e = check(&lookup(&[("PERF_RESULTS", "ftp://x")]))
        .unwrap_err()
        .to_string();
    assert!(e.contains("`ftp://` is not a destination"), "{e}");
    check(&lookup(&[
        ("PERF_SUMMARY", "captured"),
        ("PERF_PROGRESS", "1"),
        ("PERF_ALPHA", "0.01"),
        ("PERF_RATE", "500/s"),
        ("PERF_SAVE_BASELINE", "v1.0.0-rc_1"),
        ("PERF_RESULTS", "target/perf-results"),
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
