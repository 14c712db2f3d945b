//! The file formats and the summary, byte for byte: a shard result, the
//! report merged from two of them (its JSON and its summary), and a saved
//! baseline. They are what users commit, parse and read; a refactor of
//! the core must not change them. The inputs are synthetic and fixed, so
//! every byte is reproducible.
//!
//! After an intended format change: `GOLDEN=overwrite cargo test -p
//! perf-runtime --test golden`, then review the diff of `tests/golden/`.

use std::collections::BTreeMap;
use std::path::Path;

use hdrhistogram::Histogram;
use perf_runtime::shard::{
    self, CustomData, EncodedHistogram, RecordedData, SavedMetric, SavedThreshold, SecondData,
    Shard, ShardResult, TagData, SHARD_FORMAT, SHARD_SCHEMA_VERSION,
};
use perf_runtime::{ErrorCount, ErrorKind, ErrorSample, LoadShape, Stop};

const SECONDS: u64 = 3;

fn threshold(text: &str, metric: SavedMetric, op: &str, limit: f64) -> SavedThreshold {
    SavedThreshold {
        text: text.into(),
        metric,
        op: op.into(),
        limit,
        window_secs: None,
        tag: None,
        phase: None,
        relative_to: None,
    }
}

fn thresholds() -> Vec<SavedThreshold> {
    vec![
        threshold("p95 < 30ms", SavedMetric::Percentile(95.0), "<", 30e6),
        threshold("error_rate < 0.1", SavedMetric::ErrorRate, "<", 0.1),
        SavedThreshold {
            window_secs: Some(1),
            ..threshold(
                "p99 < 25ms per 1s",
                SavedMetric::Percentile(99.0),
                "<",
                25e6,
            )
        },
        SavedThreshold {
            tag: Some("cold".into()),
            ..threshold(
                "p95 for \"cold\" < 50ms",
                SavedMetric::Percentile(95.0),
                "<",
                50e6,
            )
        },
        threshold("throughput > 10", SavedMetric::Throughput, ">", 10.0),
    ]
}

/// A shard of a closed-model run: 3 seconds of 100 iterations, latencies
/// i × 0.1 ms + shard offset, every 50th failed, 5 tagged cold.
fn shard_result(index: u32) -> ShardResult {
    let mut whole = Histogram::<u64>::new(3).unwrap();
    let mut cold = Histogram::<u64>::new(3).unwrap();
    let mut db = Histogram::<u64>::new(3).unwrap();
    let mut timeline = Vec::new();
    let mut iterations = 0;
    for s in 0..SECONDS {
        let mut second = Histogram::<u32>::new_with_bounds(1_000, 2_000, 2).unwrap();
        second.auto(true);
        for i in 0..100u64 {
            let ns = 1_000_000 + i * 100_000 + u64::from(index) * 1_000 + s * 2_000_000;
            whole.record(ns).unwrap();
            second.record(ns).unwrap();
            db.record(ns / 4).unwrap();
            if i % 20 == 0 {
                cold.record(ns * 2).unwrap();
            }
            iterations += 1;
        }
        timeline.push(SecondData {
            latency: EncodedHistogram::encode(&second),
            iterations: 100,
            errors: 2,
            dropped: 0,
        });
    }
    let load = LoadShape {
        workers: 4,
        stop: Stop::Repeat(600),
        // Not the machine's CPU count: the files must be the same anywhere.
        worker_threads: 2,
        ..LoadShape::default()
    };
    let mut part = load.clone();
    part.workers = 2;
    part.stop = Stop::Repeat(300);
    part.overrides.push(format!("shard {index}/2"));
    let errors = 6;
    ShardResult {
        format: SHARD_FORMAT.into(),
        schema_version: SHARD_SCHEMA_VERSION,
        name: "golden::checkout".into(),
        shard: Shard::new(index, 2).unwrap(),
        origin: format!("generator-{index} pid 1"),
        declared: load,
        load: part,
        thresholds: thresholds(),
        after: Default::default(),
        judging: Default::default(),
        started_at_unix_ns: 1_764_331_200_000_000_000,
        elapsed_ns: SECONDS * 1_000_000_000,
        timed_out: false,
        aborted: None,
        interrupted: false,
        unscheduled: 0,
        batching: None,
        debug_build: false,
        warmup: None,
        memory: None,
        resources: None,
        data: RecordedData {
            histogram: EncodedHistogram::encode(&whole),
            service: None,
            start_delay: None,
            timeline,
            iterations,
            errors,
            timeouts: 1,
            panics: 1,
            saturated: 0,
            dropped: 0,
            error_counts: vec![
                ErrorCount {
                    kind: ErrorKind::Error,
                    message: "ThrottlingException: rate exceeded (request <id>)".into(),
                    count: 4,
                    example: "ThrottlingException: rate exceeded (request 8f3a9c2e1b)".into(),
                    cause: None,
                },
                ErrorCount {
                    kind: ErrorKind::Timeout,
                    message: "iteration cancelled after iteration_timeout (1s)".into(),
                    count: 1,
                    example: "iteration cancelled after iteration_timeout (1s)".into(),
                    cause: None,
                },
                ErrorCount {
                    kind: ErrorKind::Panic,
                    message: "index out of bounds".into(),
                    count: 1,
                    example: "index out of bounds".into(),
                    cause: Some("the index was 7".into()),
                },
            ],
            first_errors: vec![ErrorSample {
                iteration: u64::from(index) * 7,
                worker: 1,
                kind: ErrorKind::Error,
                message: "ThrottlingException: rate exceeded".into(),
            }],
            classes: [("throttle".to_owned(), 4)].into(),
            tags: [(
                "cold".to_owned(),
                TagData {
                    latency: EncodedHistogram::encode(&cold),
                    errors: 1,
                },
            )]
            .into(),
            custom: [(
                "db".to_owned(),
                CustomData {
                    kind: "duration".into(),
                    count: db.len(),
                    sum: db.mean() * db.len() as f64,
                    min: db.min() as f64,
                    max: db.max() as f64,
                    histogram: Some(EncodedHistogram::encode(&db)),
                    m2: Some(db.stdev().powi(2) * (db.len() - 1) as f64),
                },
            )]
            .into_iter()
            .collect::<BTreeMap<_, _>>(),
        },
        source: None,
    }
}

/// Compares `actual` with `tests/golden/<file>`, or writes it there with
/// `GOLDEN=overwrite`.
fn golden(file: &str, actual: &str) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(file);
    if std::env::var("GOLDEN").as_deref() == Ok("overwrite") {
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (GOLDEN=overwrite writes it)", path.display()));
    if expected != actual {
        let line = expected
            .lines()
            .zip(actual.lines())
            .position(|(a, b)| a != b)
            .unwrap_or(expected.lines().count().min(actual.lines().count()));
        panic!(
            "{file} changed at line {}:\n  expected: {:?}\n  actual:   {:?}\n(GOLDEN=overwrite after an intended change)",
            line + 1,
            expected.lines().nth(line),
            actual.lines().nth(line)
        );
    }
}

#[test]
fn the_shard_result_format_is_stable() {
    golden("shard.json", &shard_result(1).to_json());
}

#[test]
fn the_merged_report_and_its_summary_are_stable() {
    let report = shard::merge(vec![shard_result(2), shard_result(1)]).unwrap();
    let json = serde_json::to_string_pretty(&report).unwrap();
    golden("report.json", &format!("{json}\n"));
    golden("summary.txt", &format!("{}\n", report.summary()));
}

#[test]
fn the_baseline_format_is_stable() {
    let report = shard::merge(vec![shard_result(1), shard_result(2)]).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = perf_runtime::baseline::save(dir.path(), "v1.0.0", &report).unwrap();
    let mut baseline: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    // What depends on when and where it was saved.
    baseline["saved_at_unix_ms"] = 0.into();
    baseline["environment"] = serde_json::json!({"normalised": true});
    golden(
        "baseline.json",
        &format!("{}\n", serde_json::to_string_pretty(&baseline).unwrap()),
    );
}
