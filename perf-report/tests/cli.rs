//! The `perf-report` binary: `compare` against a golden output and its exit
//! codes, `go-bench`, and `html`.

use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

use hdrhistogram::Histogram;
use perf_runtime::{Report, RunFigures};

/// 2,000 latencies spread evenly over 1–2 ms, scaled.
fn histogram(scale: f64) -> Histogram<u64> {
    let mut h = Histogram::new(3).unwrap();
    for i in 0..2000u64 {
        let ns = 1_000_000 + (i * 7919 % 1000) * 1000;
        h.record((ns as f64 * scale) as u64).unwrap();
    }
    h
}

/// A report of 5 runs of [`histogram`] (run `r` scaled by `1 + r/1000`:
/// runs differ a little), `errors` failed in all.
fn write(dir: &Path, name: &str, scale: f64, errors: u64) {
    let mut all = Histogram::new(3).unwrap();
    let mut runs = Vec::new();
    for r in 0..5 {
        let h = histogram(scale * (1.0 + r as f64 / 1000.0));
        all.add(&h).unwrap();
        runs.push(RunFigures {
            iterations: h.len(),
            errors: 0,
            elapsed_ns: 2_000_000_000,
            histogram: h,
        });
    }
    let mut report = Report::from_parts(name, all, errors, Duration::from_secs(10));
    report.runs = runs;
    let path = dir.join(format!("{}.json", name.replace("::", "_")));
    report.write_json(&path).unwrap();
}

fn fixtures() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let (old, new) = (dir.path().join("old"), dir.path().join("new"));
    write(&old, "svc::get_item", 1.0, 2);
    write(&new, "svc::get_item", 1.3, 2);
    write(&old, "svc::put_item", 1.0, 0);
    write(&new, "svc::put_item", 1.0, 0);
    write(&old, "svc::retired", 1.0, 0);
    write(&new, "svc::scan", 1.0, 0);
    dir
}

/// Its stdout, after checking that it exited 0 (else both outputs).
fn succeeded(out: &Output) -> String {
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

fn perf_report(args: &[&str], cwd: &Path) -> Output {
    perf_report_with(args, cwd, &[])
}

fn perf_report_with(args: &[&str], cwd: &Path, env: &[(&str, &Path)]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_perf-report"))
        .args(args)
        .current_dir(cwd)
        .envs(env.iter().copied())
        .output()
        .unwrap()
}

#[test]
fn compare_matches_the_golden_output_and_fails_on_a_regression() {
    let dir = fixtures();
    let out = perf_report(
        &["compare", "old", "new", "--max-regression", "10%"],
        dir.path(),
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    // Embedded: the test binary stays valid wherever the checkout moves.
    let golden = include_str!("golden/compare.txt");
    assert_eq!(stdout, golden, "\n--- got ---\n{stdout}");
    assert_eq!(
        out.status.code(),
        Some(1),
        "a regression beyond the budget exits 1"
    );
}

#[test]
fn without_a_budget_nothing_fails() {
    let dir = fixtures();
    let out = perf_report(&["compare", "old", "new"], dir.path());
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stdout).contains("no regression beyond the budget"));
}

#[test]
fn bad_inputs_exit_2_with_the_reason() {
    let dir = fixtures();
    let out = perf_report(&["compare", "old", "nowhere"], dir.path());
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("\"nowhere\" is neither a file, a directory, nor a saved baseline"),
        "{stderr}"
    );
    std::fs::write(dir.path().join("broken.json"), "{\"schema_version\": 1,").unwrap();
    let out = perf_report(&["compare", "old", "broken.json"], dir.path());
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("broken.json is not a perf-runtime report")
    );
}

#[test]
fn go_bench_format_is_what_benchstat_reads() {
    let dir = fixtures();
    let out = perf_report(&["go-bench", "new"], dir.path());
    assert!(out.status.success());
    let stdout = String::from_utf8(out.stdout).unwrap();
    // Five runs: five lines, as `go test -count=5` writes them.
    let lines: Vec<&str> = stdout
        .lines()
        .filter(|l| l.starts_with("BenchmarkSvc/get_item-"))
        .collect();
    assert_eq!(lines.len(), 5, "{stdout}");
    let line = lines[0];
    let fields: Vec<&str> = line.split('\t').collect();
    assert_eq!(fields[1], "2000");
    assert!(
        fields[2].ends_with(" ns/op") && fields[3].ends_with(" p50-ns"),
        "{line}"
    );
    assert!(stdout.starts_with("goos: "));
    // Without a recorded package, the test's crate is its package.
    assert!(stdout.contains("\npkg: svc\n"), "{stdout}");
}

#[test]
fn go_bench_takes_the_package_from_the_report_and_filters_by_it() {
    let dir = fixtures();
    let shared = dir.path().join("shared");
    for (pkg, test) in [
        ("orders-api", "orders_api::get"),
        ("billing", "invoices::post"),
    ] {
        let mut r = Report::from_parts(test, histogram(1.0), 0, Duration::from_secs(1));
        r.package = Some(pkg.into());
        r.write_json(&shared.join(format!("{pkg}.json"))).unwrap();
    }
    let out = perf_report(
        &["go-bench", "shared", "--package", "orders-api"],
        dir.path(),
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(out.status.success(), "{stdout}");
    assert!(
        stdout.contains("pkg: orders-api\nBenchmarkGet-"),
        "{stdout}"
    );
    assert!(
        !stdout.contains("billing") && !stdout.contains("Invoices"),
        "{stdout}"
    );
    // Run inside a package's directory, that package is the default.
    let member = dir.path().join("billing");
    std::fs::create_dir_all(&member).unwrap();
    std::fs::write(member.join("Cargo.toml"), "[package]\nname = \"billing\"\n").unwrap();
    let out = perf_report(&["go-bench", "../shared"], &member);
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(
        stdout.contains("pkg: billing\nBenchmarkInvoices/post-"),
        "{stdout}"
    );
    assert!(!stdout.contains("orders"), "{stdout}");
    let out = perf_report(&["go-bench", "shared", "-p", "nobody"], dir.path());
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no results of package `nobody`"));
}

#[test]
fn baselines_are_found_from_the_current_directory_not_the_tools_manifest() {
    let dir = fixtures();
    let root = dir.path();
    std::fs::write(
        root.join("Cargo.toml"),
        "[workspace]\nmembers = [\"svc\"]\n",
    )
    .unwrap();
    std::fs::create_dir_all(root.join("svc")).unwrap();
    std::fs::create_dir_all(root.join("perf-baselines")).unwrap();
    std::fs::rename(root.join("old"), root.join("perf-baselines/v1")).unwrap();
    // As `cargo run --manifest-path …/perf-report/Cargo.toml` sets it.
    let out = perf_report_with(
        &["compare", "v1", "../new"],
        &root.join("svc"),
        &[("CARGO_MANIFEST_DIR", Path::new(env!("CARGO_MANIFEST_DIR")))],
    );
    let stdout = succeeded(&out);
    assert!(stdout.contains("svc::get_item"), "{stdout}");
}

#[test]
fn html_report_is_self_contained_with_two_charts_per_test() {
    let dir = fixtures();
    let out = perf_report(
        &["html", "new", "--baseline", "old", "--out", "report"],
        dir.path(),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let html = std::fs::read_to_string(dir.path().join("report/index.html")).unwrap();
    assert_eq!(html.matches("<svg").count(), 2 * 3);
    assert!(
        html.contains("svc::get_item") && html.contains(">\nbaseline\n</text>"),
        "the baseline is overlaid and named"
    );
    for outside in ["http://", "https://", "<script src", "<link"] {
        let found = html.replace("http://www.w3.org/2000/svg", "");
        assert!(
            !found.contains(outside),
            "the page must work offline: found {outside}"
        );
    }
}

/// A report of `seconds` seconds of 1–2 µs latencies, per second in its
/// timeline.
fn timed(dir: &Path, name: &str, seconds: u32) {
    let h = histogram(0.001);
    let mut report = Report::from_parts(name, h, 0, Duration::from_secs(seconds.into()));
    report.timeline = (0..seconds)
        .map(|second| perf_runtime::TimelinePoint {
            second,
            iterations: 2000 / u64::from(seconds),
            errors: 0,
            dropped: 0,
            p50_ns: 1_500,
            p95_ns: 1_950,
            p99_ns: 1_990,
            max_ns: 2_000,
            cpu_cores: None,
            rss_bytes: None,
        })
        .collect();
    report
        .write_json(&dir.join(format!("{}.json", name.replace("::", "_"))))
        .unwrap();
}

#[test]
fn short_runs_are_drawn_as_points_beside_the_whole_run_and_axes_have_units() {
    let dir = tempfile::tempdir().unwrap();
    timed(&dir.path().join("short"), "svc::short", 3);
    timed(&dir.path().join("long"), "svc::long", 10);
    for (run, points) in [("short", true), ("long", false)] {
        let out = perf_report(&["html", run, "--out", &format!("{run}-html")], dir.path());
        succeeded(&out);
        let html =
            std::fs::read_to_string(dir.path().join(format!("{run}-html/index.html"))).unwrap();
        // Latencies of 1–2 µs are labelled in µs, both charts; the time
        // and percentile axes say what they count.
        assert_eq!(html.matches("latency, µs").count(), 2, "{run}");
        assert!(
            html.contains("second of the run") && html.contains("percentile"),
            "{run}"
        );
        assert!(html.contains("iterations/s"), "{run}");
        assert_eq!(
            html.contains("3-second run: points; dashes: whole run"),
            points,
            "{run}"
        );
        // A 3-second run is 3 points per series and no line through them
        // (the dashes are 2-point segments); a 10-second one has lines.
        let timeline = &html[html.rfind("<svg").unwrap()..];
        let longest = timeline
            .split("<polyline")
            .skip(1)
            .filter_map(|p| p.split("points=\"").nth(1)?.split('"').next())
            .map(|points| points.split_whitespace().count())
            .max()
            .unwrap_or(0);
        if points {
            assert_eq!(
                timeline.matches("<circle").count(),
                3 * 3 + 3,
                "points and legend marks"
            );
            assert!(longest <= 2, "a line through the points: {longest}");
        } else {
            assert_eq!(longest, 10, "the percentiles and the rate are lines");
        }
    }
}

/// Writes the results of shards `indexes` of a 3-shard run of
/// `svc::sharded` (300 iterations, `count of "work" >= limit`) into `dir`.
fn shards(dir: &Path, indexes: &[u32], limit: f64) {
    for &i in indexes {
        perf_runtime::PerfTest::new("svc::sharded")
            .repeat(300)
            .threshold(perf_runtime::Threshold::of("work").count().ge(limit))
            .shard(perf_runtime::shard::Shard::new(i, 3).unwrap())
            .env_overrides(false)
            .report_dir(dir)
            .quiet()
            .run(|ctx| async move {
                ctx.count("work", 1);
                Ok::<(), std::io::Error>(())
            })
            .unwrap();
    }
}

#[test]
fn merge_judges_the_merged_shards_and_refuses_a_partial_set() {
    let dir = tempfile::tempdir().unwrap();
    shards(&dir.path().join("results"), &[1, 2, 3], 300.0);
    let out = perf_report(
        &["merge", "results", "--out", "merged", "--html", "html"],
        dir.path(),
    );
    let stdout = succeeded(&out);
    assert!(stdout.contains("iterations........: 300"), "{stdout}");
    let merged = Report::read_json(&dir.path().join("merged/svc/sharded.json")).unwrap();
    assert_eq!(merged.iterations, 300);
    assert!(merged.passed);
    let html = std::fs::read_to_string(dir.path().join("html/index.html")).unwrap();
    assert!(
        html.contains("svc::sharded"),
        "the merged test is on the page"
    );

    // A threshold the merged data breaks: exit 1, like a failed test.
    let strict = tempfile::tempdir().unwrap();
    shards(strict.path(), &[1, 2, 3], 301.0);
    let out = perf_report(&["merge", "."], strict.path());
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // Shard 2 missing: exit 2, naming it.
    let partial = tempfile::tempdir().unwrap();
    shards(partial.path(), &[1, 3], 300.0);
    let out = perf_report(&["merge", "."], partial.path());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("shard(s) 2 of 3 missing"), "{stderr}");
}

/// Writes the results of a 3-shard run of `svc::gated` (30 iterations of a
/// `sleep` each, a 10% regression budget, EMF metrics to `metrics`) into
/// `dir`.
fn gated_shards(dir: &Path, sleep: Duration, metrics: &Path) {
    for i in 1..=3 {
        perf_runtime::PerfTest::new("svc::gated")
            .repeat(30)
            .regression_all(0.10)
            .publish_targets(&format!("emf:{}", metrics.display()))
            .namespace("Shop")
            .shard(perf_runtime::shard::Shard::new(i, 3).unwrap())
            .env_overrides(false)
            .report_dir(dir)
            .quiet()
            .run(move |_| tokio::time::sleep(sleep))
            .unwrap();
    }
}

#[test]
fn merge_saves_gates_on_and_publishes_like_a_single_run() {
    let dir = tempfile::tempdir().unwrap();
    let (baselines, metrics) = (dir.path().join("baselines"), dir.path().join("metrics.log"));
    let ms = Duration::from_millis;

    // v1: 10 ms iterations, merged and saved as the baseline (each
    // iteration its own stretch of scheduler time, so 30 of them decide
    // the median).
    gated_shards(&dir.path().join("v1"), ms(10), &metrics);
    assert!(!metrics.exists(), "a shard publishes nothing on its own");
    let out = perf_report_with(
        &["merge", "v1", "--out", "merged-v1"],
        dir.path(),
        &[
            ("PERF_BASELINE_DIR", &baselines),
            ("PERF_SAVE_BASELINE", Path::new("v1")),
        ],
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    let saved = baselines.join("v1/svc/gated.json");
    assert!(stdout.contains("baseline v1 saved"), "{stdout}");
    let baseline: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&saved).unwrap()).unwrap();
    assert_eq!(
        baseline["report"]["iterations"], 30,
        "the merged run is saved"
    );
    // The merged metrics went out once, into the test's namespace.
    let emf = std::fs::read_to_string(&metrics).unwrap();
    assert!(
        emf.contains("\"Shop\"") && emf.contains("svc::gated"),
        "{emf}"
    );
    let lines = emf.lines().count();

    // v2: 20 ms iterations against v1 (twice as slow): the budget is
    // broken, exit 1.
    gated_shards(&dir.path().join("v2"), ms(20), &metrics);
    let out = perf_report_with(
        &["merge", "v2", "--out", "merged-v2"],
        dir.path(),
        &[
            ("PERF_BASELINE_DIR", &baselines),
            ("PERF_BASELINE", Path::new("v1")),
        ],
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("REGRESSED"), "{stdout}");
    let merged = Report::read_json(&dir.path().join("merged-v2/svc/gated.json")).unwrap();
    let comparison = merged.baseline.expect("compared with v1");
    assert_eq!(comparison.version, "v1");
    assert!(comparison.regressions().any(|m| m.metric == "p50"));
    assert_eq!(
        std::fs::read_to_string(&metrics).unwrap().lines().count(),
        2 * lines,
        "published again, also when it failed"
    );
}

#[test]
fn alpha_must_be_a_significance_level() {
    let dir = fixtures();
    for bad in ["NaN", "-1", "0", "5", "lots"] {
        let out = perf_report(
            &[
                "compare",
                "old",
                "new",
                "--max-regression",
                "10%",
                &format!("--alpha={bad}"),
            ],
            dir.path(),
        );
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "--alpha={bad}: {stderr}");
        assert!(
            stderr.contains(bad) && stderr.contains("(0, 0.5]"),
            "{stderr}"
        );
    }
    let out = perf_report(
        &[
            "compare",
            "old",
            "new",
            "--max-regression",
            "10%",
            "--alpha=0.01",
        ],
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(1), "the regression is still caught");
}

#[cfg(unix)]
#[test]
fn links_and_fifos_in_a_results_directory_are_skipped_not_followed() {
    let dir = fixtures();
    let new = dir.path().join("new");
    // Two links to the directory itself: following them never ends.
    std::os::unix::fs::symlink(".", new.join("a")).unwrap();
    std::os::unix::fs::symlink(".", new.join("b")).unwrap();
    // A FIFO named like a report: reading it blocks forever.
    let fifo = new.join("stuck.json");
    assert!(Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success());
    for args in [&["go-bench", "new"][..], &["compare", "old", "new"][..]] {
        let start = std::time::Instant::now();
        let out = perf_report(args, dir.path());
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "{args:?} took {:?}",
            start.elapsed()
        );
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{args:?}: {stderr}");
        assert!(
            stderr.contains("stuck.json: not a regular file"),
            "{stderr}"
        );
    }
    let out = perf_report(&["merge", "new"], dir.path());
    assert_eq!(out.status.code(), Some(2), "no shard results, and no hang");
}

#[test]
fn shard_results_beside_reports_are_skipped() {
    let dir = fixtures();
    let new = dir.path().join("new");
    let shard = new.join("svc/get_item.shard-1-of-2.json");
    std::fs::create_dir_all(shard.parent().unwrap()).unwrap();
    std::fs::write(
        &shard,
        r#"{"format":"perf-runtime-shard","schema_version":1,"name":"svc::get_item"}"#,
    )
    .unwrap();
    for args in [
        &["go-bench", "new"][..],
        &["compare", "old", "new"][..],
        &["html", "new", "--out", "out"][..],
    ] {
        let out = perf_report(args, dir.path());
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    // Named on its own, it is an error that says what to do.
    let out = perf_report(&["go-bench", shard.to_str().unwrap()], dir.path());
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("perf-report merge"));
}

#[cfg(unix)]
#[test]
fn a_closed_pipe_ends_quietly() {
    let dir = fixtures();
    // `true` exits at once, closing the pipe; perf-report starts writing
    // half a second later, into a pipe nobody reads.
    let status = Command::new("bash")
        .arg("-c")
        .arg(r#"(sleep 0.5; "$0" compare old new 2>err.txt; echo $? >status.txt) | true"#)
        .arg(env!("CARGO_BIN_EXE_perf-report"))
        .current_dir(dir.path())
        .status()
        .unwrap();
    assert!(status.success());
    let stderr = std::fs::read_to_string(dir.path().join("err.txt")).unwrap();
    let code = std::fs::read_to_string(dir.path().join("status.txt")).unwrap();
    assert!(
        !stderr.contains("panicked") && !stderr.contains("Broken pipe"),
        "{stderr}"
    );
    assert_eq!(code.trim(), "141", "{stderr}");
}

#[test]
fn a_histogram_that_claims_gigabytes_is_refused_at_once() {
    use base64::Engine as _;
    let dir = fixtures();
    let path = dir.path().join("new/svc_get_item.json");
    let text = std::fs::read_to_string(&path).unwrap();
    let mut report: serde_json::Value = serde_json::from_str(&text).unwrap();
    // V2 + DEFLATE: cookie, then the compressed length, claimed as 2 GiB.
    let b64 = base64::engine::general_purpose::STANDARD;
    let mut bytes = b64.decode(report["histogram"].as_str().unwrap()).unwrap();
    bytes[4..8].copy_from_slice(&0x8000_0000u32.to_be_bytes());
    report["histogram"] = b64.encode(&bytes).into();
    std::fs::write(&path, report.to_string()).unwrap();
    let start = std::time::Instant::now();
    let out = perf_report(&["go-bench", "new"], dir.path());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("claims 2147483648 compressed bytes"),
        "{stderr}"
    );
    assert!(
        stderr.contains("svc_get_item.json"),
        "names the file: {stderr}"
    );
    assert!(start.elapsed() < Duration::from_secs(10));
}

#[cfg(not(feature = "s3"))]
#[test]
fn an_s3_input_without_the_feature_names_the_feature() {
    let dir = tempfile::tempdir().unwrap();
    let out = perf_report(&["merge", "s3://bucket/run-1/"], dir.path());
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("needs perf-report's `s3` feature"),
        "{stderr}"
    );
    assert!(stderr.contains("--features s3"), "{stderr}");
}

#[test]
fn the_html_baseline_table_reads_as_the_summary_does() {
    let dir = tempfile::tempdir().unwrap();
    let mut r = Report::from_parts("svc::get", histogram(1.0), 0, Duration::from_secs(1));
    r.baseline = Some(perf_runtime::baseline::BaselineComparison {
        version: "v1".into(),
        path: "perf-baselines/v1/svc/get.json".into(),
        missing: None,
        metrics: vec![perf_runtime::stats::MetricComparison {
            metric: "mean".into(),
            old: 409_622.0,
            new: 607_297.0,
            delta: 0.4826,
            p_value: Some(0.000_01),
            need_more: None,
            interval: Some([0.41, 0.55]),
            level: None,
            runs: [1, 1],
            p_beyond_budget: None,
            reason: None,
            budget: Some(0.1),
            verdict: perf_runtime::stats::Verdict::Regressed,
        }],
        machine: None,
        required: false,
    });
    r.write_json(&dir.path().join("in/get.json")).unwrap();
    let out = perf_report(&["html", "in", "--out", "report"], dir.path());
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let html = std::fs::read_to_string(dir.path().join("report/index.html")).unwrap();
    // Durations and p-values as the summary writes them, not `409622` and
    // `p 0.000`.
    assert!(
        html.contains("<td>mean</td><td>410µs</td><td>607µs</td><td>+48.3% [+41.0%, +55.0%]</td><td>&lt;0.001</td>"),
        "{html}"
    );
}

#[test]
fn figures_no_run_produces_are_refused_naming_file_and_field() {
    let dir = fixtures();
    let path = dir.path().join("new/svc_get_item.json");
    let text = std::fs::read_to_string(&path).unwrap();
    let good: serde_json::Value = serde_json::from_str(&text).unwrap();
    for (field, value) in [
        ("throughput", serde_json::json!(1e300)),
        ("error_rate", serde_json::json!(-0.5)),
    ] {
        let mut report = good.clone();
        report[field] = value;
        std::fs::write(&path, report.to_string()).unwrap();
        let out = perf_report(&["html", "new", "--out", "site"], dir.path());
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{stderr}");
        assert!(
            stderr.contains("svc_get_item.json") && stderr.contains(&format!("`{field}`")),
            "names the file and the field: {stderr}"
        );
    }
}

/// The perf test `perf-report ab` runs below, through two wrapper scripts
/// that stand for two builds: each iteration sleeps `AB_SLEEP_US`. In an
/// ordinary `cargo test` (the variable unset) it does nothing.
#[test]
fn ab_target() {
    let Some(us) = std::env::var("AB_SLEEP_US")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
    else {
        return;
    };
    perf_runtime::PerfTest::new("ab::sleep")
        .workers(1)
        .repeat(150)
        .quiet()
        .run(move |_| async move {
            std::thread::sleep(std::time::Duration::from_micros(us));
        })
        .unwrap();
}

#[test]
fn ab_runs_two_builds_alternately_and_fails_only_a_real_slowdown() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let exe = std::env::current_exe().unwrap();
    // A "build" is this test binary with its sleep set: 2 ms, or twice
    // that (a margin no sleep's jitter or a busy CI machine's preemption
    // between rounds can hide, with 4 rounds; the benchmark measures the
    // 20% and 30% cases).
    let build = |name: &str, us: u64| {
        let path = dir.path().join(name);
        std::fs::write(
            &path,
            format!(
                "#!/bin/sh\nAB_SLEEP_US={us} exec '{}' \"$@\"\n",
                exe.display()
            ),
        )
        .unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        path.to_string_lossy().into_owned()
    };
    let (base, same, slower) = (
        build("base.sh", 2_000),
        build("same.sh", 2_000),
        build("slower.sh", 4_000),
    );
    let ab = |head: &str, work: &str| {
        perf_report(
            &[
                "ab",
                &base,
                head,
                "ab_target",
                "--rounds",
                "4",
                "--work-dir",
                work,
            ],
            dir.path(),
        )
    };
    let out = ab(&same, "same");
    let stdout = succeeded(&out);
    assert!(
        stdout.contains("4 rounds in ABBA order") && stdout.contains("ab::sleep"),
        "{stdout}"
    );
    assert!(
        stdout.contains("no regression beyond the budget"),
        "{stdout}"
    );
    // Every round ran both builds, each in a process of its own.
    for round in 0..4 {
        for side in ["base", "head"] {
            let report = dir
                .path()
                .join(format!("same/round-{round}/{side}/ab/sleep.json"));
            assert!(report.is_file(), "{}", report.display());
        }
    }

    let out = ab(&slower, "slower");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("REGRESSED (budget 10%)"), "{stdout}");

    // One round cannot tell noise from a change.
    let out = perf_report(&["ab", &base, &same, "--rounds", "1"], dir.path());
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("at least 2 rounds"));
}
