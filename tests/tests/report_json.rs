//! The JSON report: where it goes, what it holds, and that it is written
//! whole.

use std::time::Duration;

use perf_runtime::prelude::*;
use perf_runtime::{ErrorKind, Stop, REPORT_SCHEMA_VERSION};

#[test]
fn report_file_holds_the_run() {
    let dir = tempfile::tempdir().unwrap();
    let report = PerfTest::new("suite::module::put_item")
        .workers(2)
        .repeat(50)
        .warmup(4)
        .report_dir(dir.path())
        .quiet()
        .threshold(Threshold::p(95.0).lt(Duration::from_secs(1)))
        .threshold(Threshold::error_rate().lt(0.5))
        .run(|ctx| async move {
            tokio::time::sleep(Duration::from_millis(1)).await;
            if ctx.iteration() == 7 {
                Err("item 7 is cursed")
            } else {
                Ok(())
            }
        })
        .unwrap();
    let path = dir.path().join("suite/module/put_item.json");
    assert_eq!(report.path.as_deref(), Some(path.as_path()));
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(json["schema_version"], REPORT_SCHEMA_VERSION);
    assert_eq!(json["name"], "suite::module::put_item");
    assert_eq!(json["load"]["model"], "closed");
    assert_eq!(json["load"]["workers"], 2);
    assert_eq!(json["load"]["repeat"], 50);
    assert_eq!(json["load"]["warmup_iterations"], 4);
    assert_eq!(json["iterations"], 50);
    assert_eq!(json["errors"], 1);
    assert_eq!(json["error_rate"], 0.02);
    assert_eq!(json["first_errors"][0]["iteration"], 7);
    assert_eq!(json["first_errors"][0]["message"], "\"item 7 is cursed\"");
    assert_eq!(json["warmup"]["iterations"], 4);
    assert_eq!(json["thresholds"][0]["threshold"], "p95 < 1s");
    assert_eq!(json["thresholds"][0]["passed"], true);
    assert_eq!(json["thresholds"][1]["metric"], "error_rate");
    assert_eq!(json["passed"], true);
    assert!(json["latency"]["min_ns"].as_u64().unwrap() >= 1_000_000);
    let p: Vec<f64> = json["latency"]["percentiles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["percentile"].as_f64().unwrap())
        .collect();
    assert_eq!(p, [50.0, 75.0, 90.0, 95.0, 99.0, 99.9]);

    // It reads back whole, histogram included.
    let back = Report::read_json(&path).unwrap();
    assert_eq!(back.load.stop, Stop::Repeat(50));
    assert_eq!(back.first_errors[0].kind, ErrorKind::Error);
    assert_eq!(back.histogram.len(), 50);
    assert_eq!(back.percentile(99.0), report.percentile(99.0));
    // No temporary files are left beside it.
    let names: Vec<_> = std::fs::read_dir(path.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, ["put_item.json"]);
}

#[test]
fn rewriting_replaces_the_file_atomically() {
    let dir = tempfile::tempdir().unwrap();
    let run = |n| {
        PerfTest::new("again")
            .repeat(n)
            .report_dir(dir.path())
            .quiet()
            .run(|_| async {})
            .unwrap();
        Report::read_json(&dir.path().join("again.json"))
            .unwrap()
            .iterations
    };
    assert_eq!(run(3), 3);
    assert_eq!(run(7), 7);
}

#[test]
fn unwritable_report_directory_is_an_error_naming_the_path() {
    let dir = tempfile::tempdir().unwrap();
    let blocker = dir.path().join("not-a-dir");
    std::fs::write(&blocker, "a file where a directory should be").unwrap();
    let err = PerfTest::new("x::y")
        .repeat(1)
        .report_dir(&blocker)
        .quiet()
        .run(|_| async {})
        .unwrap_err();
    let message = err.to_string();
    assert!(
        message.contains("could not write the report") && message.contains("not-a-dir/x/y.json"),
        "{message}"
    );
}

#[test]
fn corrupt_report_is_an_error_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("broken.json");
    std::fs::write(&path, "{\"schema_version\": 1, \"name\": ").unwrap();
    let message = Report::read_json(&path).unwrap_err().to_string();
    assert!(
        message.contains("broken.json") && message.contains("EOF"),
        "{message}"
    );
}

#[perf_test(repeat = 5)]
async fn macro_reports_go_under_the_target_dir() {}

#[test]
fn macro_report_path_follows_the_module_path() {
    // The perf test above writes <target>/perf/report_json/<name>.json; run
    // it here too so the file exists whatever the test order.
    macro_reports_go_under_the_target_dir();
    let target = perf_tests::target_dir();
    let path = target.join("perf/report_json/macro_reports_go_under_the_target_dir.json");
    let report = Report::read_json(&path).unwrap();
    assert_eq!(
        report.name,
        "report_json::macro_reports_go_under_the_target_dir"
    );
}
