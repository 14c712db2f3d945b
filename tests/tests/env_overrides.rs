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

#[perf_test(workers = 2, repeat = 10, p95 < "5s")]
async fn env_target() {
    tokio::time::sleep(Duration::from_millis(1)).await;
}

const VARS: [&str; 5] = [
    "PERF_WORKERS",
    "PERF_REPEAT",
    "PERF_DURATION",
    "PERFORMANCE_TEST_CONCURRENCY",
    "PERFORMANCE_TEST_DURATION",
];

fn run_child(vars: &[(&str, &str)], dir: &Path) -> Output {
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.args(["env_target", "--exact", "--nocapture"])
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
