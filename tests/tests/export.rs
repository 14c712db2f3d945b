//! Publishing a report's metrics as CloudWatch Embedded Metric Format lines
//! (no AWS needed): from the builder and from the attribute.

use perf_runtime::prelude::*;
use serde_json::Value;

fn lines(path: &std::path::Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn emf_lines_are_appended_to_the_file_with_the_namespace() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("metrics.log");
    for _ in 0..2 {
        PerfTest::new("export::emf_file")
            .no_report_file()
            .quiet()
            .repeat(50)
            .publish_targets(&format!("emf:{}", path.display()))
            .namespace("Team/Checkout")
            .run(|ctx| async move {
                ctx.tag(if ctx.iteration() < 5 { "cold" } else { "warm" });
            })
            .unwrap()
            .assert_passed();
    }
    let docs = lines(&path);
    // Two runs, each: the whole test and its two tags.
    assert_eq!(docs.len(), 6);
    let whole = &docs[0];
    assert_eq!(
        whole["_aws"]["CloudWatchMetrics"][0]["Namespace"],
        "Team/Checkout"
    );
    assert_eq!(whole["Test"], "export::emf_file");
    assert_eq!(whole["TestSuite"], "export");
    assert_eq!(whole["Iterations"], 50);
    assert!(whole["LatencyP99"].as_f64().unwrap() > 0.0);
    assert_eq!(docs[1]["Tag"], "cold");
    assert_eq!(docs[1]["Iterations"], 5);
}

#[perf_test(repeat = 20, publish = "emf", namespace = "Team/Attr")]
async fn the_attribute_publishes_to_stdout() {}

#[test]
fn the_attribute_form_writes_emf_to_stdout() {
    // Run that perf test alone in a child process and read its stdout.
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "the_attribute_publishes_to_stdout",
            "--exact",
            "--nocapture",
        ])
        .env("PERF_SUMMARY", "never")
        .env_remove("PERF_PUBLISH")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    let docs: Vec<Value> = stdout
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(docs.len(), 1, "{stdout}");
    assert_eq!(
        docs[0]["_aws"]["CloudWatchMetrics"][0]["Namespace"],
        "Team/Attr"
    );
    assert_eq!(docs[0]["Iterations"], 20);
}

#[test]
fn a_bad_perf_publish_names_the_variable() {
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["the_attribute_publishes_to_stdout", "--exact"])
        .env("PERF_PUBLISH", "cloudwatc")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("PERF_PUBLISH=\"cloudwatc\"")
            && text.contains("`cloudwatc` is not a destination"),
        "{text}"
    );
}
