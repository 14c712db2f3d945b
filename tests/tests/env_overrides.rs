//! `PERF_*` (and the original framework's `PERFORMANCE_TEST_*`) variables
//! override the load shape at run time; malformed values fail the test with
//! the variable's name and value.
//!
//! The environment is process-wide and the harness runs tests in parallel,
//! so each case runs the perf test `env_target` in a child process of this
//! test binary with the variables set there, and reads the JSON report the
//! child wrote.

use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

use perf_runtime::prelude::*;
use perf_runtime::Stop;

#[perf_test(workers = 2, repeat = 10, mean < "5s")]
async fn env_target() {
    tokio::time::sleep(Duration::from_millis(1)).await;
}

#[perf_test(gate = "PERF_GATE_UNDER_TEST", repeat = 5)]
async fn gated_target() {}

#[perf_test(rate = 50, duration = "3s", workers = 10)]
async fn open_target() {
    tokio::time::sleep(Duration::from_millis(1)).await;
}

/// A search every rate of which holds (1 ms bodies): its steps are the
/// range's points, 10, 20 and 40/s, one second each.
#[perf_test(capacity(rate = 10..=40, hold = "1s", step = 2), workers = 4, p95 < "1s")]
async fn capacity_target() {
    tokio::time::sleep(Duration::from_millis(1)).await;
}

const VARS: [&str; 16] = [
    "PERF_CAPACITY_RANGE",
    "PERF_CAPACITY_HOLD",
    "PERF_WORKERS",
    "PERF_REPEAT",
    "PERF_DURATION",
    "PERFORMANCE_TEST_CONCURRENCY",
    "PERFORMANCE_TEST_DURATION",
    "PERF_RATE",
    "PERF_PROFILE",
    "PERF_PROGRESS",
    "PERF_GATE_UNDER_TEST",
    "PERF_SAVE_BASELINE",
    "PERF_BASELINE",
    "PERFORMANCE_TEST_BASELINE_VERSION",
    "PERF_REQUIRE_BASELINE",
    "PERF_BASELINE_DIR",
];

fn run_child(vars: &[(&str, &str)], dir: &Path) -> Output {
    run_test_in_child("env_target", vars, dir)
}

fn run_test_in_child(test: &str, vars: &[(&str, &str)], dir: &Path) -> Output {
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.args([test, "--exact", "--nocapture"])
        .env("PERF_REPORT_DIR", dir);
    for v in VARS {
        cmd.env_remove(v);
    }
    cmd.envs(vars.iter().copied());
    cmd.output().unwrap()
}

fn report_after(vars: &[(&str, &str)]) -> Report {
    let dir = tempfile::tempdir().unwrap();
    let out = run_child(vars, dir.path());
    assert!(
        out.status.success(),
        "child failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Report::read_json(&dir.path().join("env_overrides/env_target.json")).unwrap()
}

#[test]
fn without_variables_the_attribute_decides() {
    let r = report_after(&[]);
    assert_eq!((r.load.workers, r.load.stop), (2, Stop::Repeat(10)));
    assert_eq!(r.iterations, 10);
    assert!(r.load.overrides.is_empty());
}

#[test]
fn perf_workers_and_repeat() {
    let r = report_after(&[("PERF_WORKERS", "5"), ("PERF_REPEAT", "30")]);
    assert_eq!((r.load.workers, r.load.stop), (5, Stop::Repeat(30)));
    assert_eq!(r.iterations, 30);
    assert_eq!(r.load.overrides, ["PERF_WORKERS=5", "PERF_REPEAT=30"]);
}

#[test]
fn perf_duration_replaces_repeat() {
    let r = report_after(&[("PERF_DURATION", "200ms")]);
    assert_eq!(r.load.stop, Stop::Duration(Duration::from_millis(200)));
    assert!(r.elapsed() >= Duration::from_millis(200));
    // 1 ms sleeps for 200 ms on 2 workers: far more than the attribute's 10.
    assert!(r.iterations > 20, "{}", r.iterations);
}

#[test]
fn original_framework_names_are_read() {
    let r = report_after(&[
        ("PERFORMANCE_TEST_CONCURRENCY", "3"),
        ("PERFORMANCE_TEST_DURATION", "150ms"),
    ]);
    assert_eq!(
        (r.load.workers, r.load.stop),
        (3, Stop::Duration(Duration::from_millis(150)))
    );
    assert_eq!(
        r.load.overrides,
        [
            "PERFORMANCE_TEST_CONCURRENCY=3",
            "PERFORMANCE_TEST_DURATION=150ms"
        ]
    );
}

#[test]
fn malformed_values_fail_with_name_and_value() {
    for (vars, needle) in [
        (
            &[("PERF_WORKERS", "lots")][..],
            "PERF_WORKERS=\"lots\": expected a positive whole number of workers",
        ),
        (
            &[("PERF_REPEAT", "0")][..],
            "PERF_REPEAT=\"0\": the number of iterations must be at least 1",
        ),
        (
            &[("PERF_DURATION", "30")][..],
            "PERF_DURATION=\"30\": `30` has no unit",
        ),
        (
            &[("PERFORMANCE_TEST_DURATION", "5 minutes")][..],
            "PERFORMANCE_TEST_DURATION=\"5 minutes\": unknown duration unit `minutes`",
        ),
        (
            &[("PERF_REPEAT", "5"), ("PERF_DURATION", "1s")][..],
            "PERF_REPEAT=5 is set too",
        ),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let out = run_child(vars, dir.path());
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(!out.status.success(), "{vars:?} should fail the test");
        assert!(
            text.contains(needle),
            "{vars:?}: expected {needle:?} in:\n{text}"
        );
    }
}

#[test]
fn perf_capacity_range_and_hold_override_the_search() {
    let dir = tempfile::tempdir().unwrap();
    let out = run_test_in_child(
        "capacity_target",
        &[
            ("PERF_CAPACITY_RANGE", "5..=10"),
            ("PERF_CAPACITY_HOLD", "2s"),
        ],
        dir.path(),
    );
    assert!(out.status.success(), "{}", text(&out));
    let r = Report::read_json(&dir.path().join("env_overrides/capacity_target.json")).unwrap();
    let c = r.capacity.as_ref().expect("a capacity result");
    assert_eq!(c.range, (5.0, 10.0));
    let offered: Vec<f64> = c.steps.iter().map(|s| s.offered).collect();
    assert_eq!(offered, [5.0, 10.0], "{}", c.verdict);
    assert!(c.at_least && c.verdict.contains("the top of the range held"));
    // The report is the top step's judged part: 80% of the 2 s hold (the
    // attribute's 1 s would judge 0.8 s).
    assert!(
        r.elapsed() >= Duration::from_millis(1500),
        "{:?}",
        r.elapsed()
    );
    for (var, value, needle) in [
        (
            "PERF_CAPACITY_RANGE",
            "lots",
            "PERF_CAPACITY_RANGE=\"lots\": expected `low..=high`",
        ),
        (
            "PERF_CAPACITY_RANGE",
            "10..=5",
            "PERF_CAPACITY_RANGE=\"10..=5\": capacity: the range 10..=5 is empty or reversed",
        ),
        (
            "PERF_CAPACITY_HOLD",
            "500ms",
            "PERF_CAPACITY_HOLD=\"500ms\": capacity: hold 500ms is shorter than 1s",
        ),
        (
            "PERF_CAPACITY_HOLD",
            "10",
            "PERF_CAPACITY_HOLD=\"10\": `10` has no unit",
        ),
        (
            "PERF_CAPACITY_RANGE",
            "20...100",
            "environment variable PERF_CAPACITY_RANGE=\"20...100\": the high end `.100` is not a number",
        ),
        (
            "PERF_CAPACITY_RANGE",
            "-5..=100",
            "the low end is -5: the ends are positive",
        ),
        (
            "PERF_CAPACITY_HOLD",
            "-1s",
            "environment variable PERF_CAPACITY_HOLD=\"-1s\": a hold is a positive duration",
        ),
    ] {
        // A test without a search refuses a malformed value too, before
        // its run, in the same form (a reversed range or a short hold is
        // only wrong for a search).
        if !needle.contains("capacity:") {
            let out = run_test_in_child("env_target", &[(var, value)], dir.path());
            assert!(!out.status.success(), "{var}={value}: env_target should fail");
            assert!(text(&out).contains(needle), "{var}={value}: {}", text(&out));
        }
        let out = run_test_in_child("capacity_target", &[(var, value)], dir.path());
        assert!(!out.status.success(), "{var}={value} should fail the test");
        assert!(
            text(&out).contains(needle),
            "{var}={value}: expected {needle:?} in:\n{}",
            text(&out)
        );
    }
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn a_gate_runs_the_test_only_when_its_variable_is_true() {
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("env_overrides/gated_target.json");
    let out = run_test_in_child("gated_target", &[], dir.path());
    assert!(out.status.success());
    assert!(
        text(&out).contains("skipped: gated by PERF_GATE_UNDER_TEST; run it with PERF_GATE_UNDER_TEST=true cargo test"),
        "{}",
        text(&out)
    );
    assert!(!report.exists(), "a skipped test writes no report");
    for off in ["0", "false", "no"] {
        let out = run_test_in_child("gated_target", &[("PERF_GATE_UNDER_TEST", off)], dir.path());
        assert!(out.status.success() && !report.exists(), "{off}");
    }
    let out = run_test_in_child(
        "gated_target",
        &[("PERF_GATE_UNDER_TEST", "yes")],
        dir.path(),
    );
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(Report::read_json(&report).unwrap().iterations, 5);
    let out = run_test_in_child(
        "gated_target",
        &[("PERF_GATE_UNDER_TEST", "maybe")],
        dir.path(),
    );
    assert!(!out.status.success());
    assert!(
        text(&out).contains("PERF_GATE_UNDER_TEST=\"maybe\": expected a true value"),
        "{}",
        text(&out)
    );
}

#[test]
fn perf_rate_and_profile_reshape_open_model_tests_and_progress_is_shown_on_request() {
    let dir = tempfile::tempdir().unwrap();
    let vars = [
        ("PERF_RATE", "6000/m"),
        ("PERF_PROFILE", "peak"),
        ("PERF_PROGRESS", "1"),
    ];
    let out = run_test_in_child("open_target", &vars, dir.path());
    assert!(out.status.success(), "{}", text(&out));
    let r = Report::read_json(&dir.path().join("env_overrides/open_target.json")).unwrap();
    assert_eq!(r.load.rate, Some(100.0));
    assert_eq!(r.load.profile, Some(perf_runtime::Profile::Peak));
    // peak = 2 × 100/s for 3 s.
    assert_eq!(r.iterations + r.dropped, 600);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("progress: env_overrides::open_target"),
        "{stderr}"
    );
    // Output that is not a terminal gets no progress unless asked.
    let out = run_test_in_child("open_target", &[], dir.path());
    assert!(out.status.success());
    assert!(!String::from_utf8_lossy(&out.stderr).contains("progress:"));
}

#[test]
fn baselines_are_saved_and_compared_through_the_environment() {
    let dir = tempfile::tempdir().unwrap();
    let baselines = dir.path().join("baselines");
    let b = baselines.to_str().unwrap();
    let out = run_child(
        &[("PERF_BASELINE_DIR", b), ("PERF_SAVE_BASELINE", "v9")],
        dir.path(),
    );
    assert!(out.status.success(), "{}", text(&out));
    assert!(baselines.join("v9/env_overrides/env_target.json").is_file());
    assert!(text(&out).contains("baseline v9 saved:"), "{}", text(&out));

    // The original framework's variable names the version to compare with.
    let out = run_child(
        &[
            ("PERF_BASELINE_DIR", b),
            ("PERFORMANCE_TEST_BASELINE_VERSION", "v9"),
        ],
        dir.path(),
    );
    assert!(out.status.success(), "{}", text(&out));
    let r = Report::read_json(&dir.path().join("env_overrides/env_target.json")).unwrap();
    let cmp = r.baseline.expect("compared with v9");
    assert_eq!(cmp.version, "v9");
    assert!(cmp.missing.is_none() && cmp.metrics.iter().any(|m| m.metric == "p95"));

    // A missing baseline passes, unless it is required.
    let out = run_child(
        &[("PERF_BASELINE_DIR", b), ("PERF_BASELINE", "v404")],
        dir.path(),
    );
    assert!(out.status.success());
    let out = run_child(
        &[
            ("PERF_BASELINE_DIR", b),
            ("PERF_BASELINE", "v404"),
            ("PERF_REQUIRE_BASELINE", "1"),
        ],
        dir.path(),
    );
    assert!(!out.status.success());
    assert!(
        text(&out).contains("no baseline v404")
            && text(&out).contains("PERF_REQUIRE_BASELINE is set"),
        "{}",
        text(&out)
    );
}

#[test]
fn an_unwritable_report_directory_fails_the_test_before_it_runs() {
    let dir = tempfile::tempdir().unwrap();
    // A directory under a regular file cannot be made, even by root; nor
    // can one in /proc.
    let file = dir.path().join("a-file");
    std::fs::write(&file, "not a directory").unwrap();
    let under_file = file.join("reports");
    for bad in [under_file.to_str().unwrap(), "/proc/self/perf-reports"] {
        for target in ["env_target", "capacity_target"] {
            let out = run_test_in_child(target, &[("PERF_REPORT_DIR", bad)], dir.path());
            let text = text(&out);
            assert!(!out.status.success(), "{target} with {bad}: {text}");
            assert!(
                text.contains(&format!("environment variable PERF_REPORT_DIR=\"{bad}\": the report {bad}/env_overrides/")),
                "{target} with {bad}: {text}"
            );
            // Found before the run: nothing was measured, no summary.
            assert!(!text.contains("iterations......"), "{target}: {text}");
        }
    }
    // A directory given in code is named as the report's file.
    let ran = std::sync::atomic::AtomicU64::new(0);
    let ran = std::sync::Arc::new(ran);
    let counted = ran.clone();
    let err = PerfTest::new("env_overrides::report_dir_in_code")
        .quiet()
        .env_overrides(false)
        .report_dir(&under_file)
        .repeat(10)
        .run(move |_| {
            let counted = counted.clone();
            async move {
                counted.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            }
        })
        .unwrap_err();
    assert!(
        err.to_string().starts_with(&format!(
            "could not write the report {}/env_overrides/report_dir_in_code.json: ",
            under_file.display()
        )),
        "{err}"
    );
    assert_eq!(ran.load(std::sync::atomic::Ordering::Relaxed), 0);
}
