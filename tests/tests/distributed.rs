//! Distributed runs: the same perf test once as a single shard and once as
//! four processes of this test binary (`PERF_SHARD=i/4`, a common
//! `PERF_START_AT`), merged, compared; then a missing and a duplicated
//! shard, and results through S3 on the local stack.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use perf_runtime::shard::{self, MergeError, Shard, ShardResult};
use perf_runtime::{PerfTest, Report, Threshold};

const NAME: &str = "distributed::fixed_latency";
const CHILD: &str = "PERF_TESTS_SHARD_CHILD";

/// The perf test: 400 iterations on 8 workers, each sleeping 2 ms and
/// recording a synthetic duration of `iteration % 100 + 1` ms (a known,
/// timing-free distribution: each shard's 100 iterations hold 1..=100 ms).
/// `count of "synthetic" >= 400` can only hold on the merged result.
fn fixed_latency() -> PerfTest {
    PerfTest::new(NAME)
        .workers(8)
        .repeat(400)
        .threshold(Threshold::of("synthetic").count().ge(400.0))
        .threshold(
            Threshold::of("synthetic")
                .p(95.0)
                .lt_duration(Duration::from_millis(200)),
        )
        .threshold(Threshold::error_rate().lt(0.01))
}

async fn body(ctx: perf_runtime::Ctx) -> Result<(), std::io::Error> {
    tokio::time::sleep(Duration::from_millis(2)).await;
    ctx.record_duration(
        "synthetic",
        Duration::from_millis(ctx.iteration() % 100 + 1),
    );
    if let Some(shard) = ctx.shard() {
        ctx.record("shard_index", f64::from(shard.index));
    }
    Ok(())
}

/// Run by `four_processes_merge_into_the_single_run` as a child process
/// (the shard comes from `PERF_SHARD`); does nothing otherwise.
#[test]
fn shard_child() {
    if std::env::var(CHILD).is_err() {
        return;
    }
    let report = fixed_latency().run(body).unwrap();
    assert!(report.shard.is_some(), "PERF_SHARD not seen");
    report.assert_passed();
}

fn read_all(dir: &Path) -> Vec<ShardResult> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p.to_string_lossy().contains(".shard-") {
                out.push(ShardResult::read(&p).unwrap());
            }
        }
    }
    out
}

fn p(report: &Report, metric: &str, q: f64) -> f64 {
    report.custom[metric]
        .percentile(q)
        .unwrap_or_else(|| panic!("{metric} p{q} not listed"))
        .as_nanos() as f64
}

#[test]
fn four_processes_merge_into_the_single_run() {
    // Once as a single shard (1/1), in this process.
    let single_dir = tempfile::tempdir().unwrap();
    let one = fixed_latency()
        .shard(Shard::new(1, 1).unwrap())
        .report_dir(single_dir.path())
        .quiet()
        .run(body)
        .unwrap();
    let single = shard::merge(vec![one.shard_result().unwrap().clone()]).unwrap();

    // Four processes, a common start two seconds ahead.
    let results = tempfile::tempdir().unwrap();
    let start = SystemTime::now().duration_since(UNIX_EPOCH).unwrap() + Duration::from_secs(2);
    let children: Vec<_> = (1..=4)
        .map(|i| {
            Command::new(std::env::current_exe().unwrap())
                .args(["--exact", "shard_child", "--nocapture", "--test-threads=1"])
                .env(CHILD, "1")
                .env("PERF_SHARD", format!("{i}/4"))
                .env("PERF_START_AT", format!("{:.3}", start.as_secs_f64()))
                .env("PERF_RESULTS", results.path())
                .env(
                    "PERF_REPORT_DIR",
                    results.path().join(format!("reports-{i}")),
                )
                .spawn()
                .unwrap()
        })
        .collect();
    for mut c in children {
        assert!(c.wait().unwrap().success(), "a shard process failed");
    }
    let shards = read_all(&results.path().join("distributed"));
    assert_eq!(shards.len(), 4, "one result per shard in PERF_RESULTS");
    // Each shard ran its share: 100 iterations, 2 workers.
    for s in &shards {
        assert_eq!(s.data.iterations, 100, "shard {}", s.shard);
        assert_eq!(s.load.workers, 2);
        // The common start: none began before PERF_START_AT (2 s after the
        // spawn, time enough for 4 processes to start on a busy 2-core
        // machine); the upper bound only catches a start that was ignored.
        let started = Duration::from_nanos(s.started_at_unix_ns);
        assert!(
            started >= start && started < start + Duration::from_secs(5),
            "{started:?}"
        );
    }
    let merged = shard::merge(shards.clone()).unwrap();

    assert_eq!(merged.iterations, single.iterations);
    assert_eq!(merged.iterations, 400);
    assert_eq!(merged.load.workers, 8, "the declared load, not a shard's");
    // The synthetic distribution is identical: percentiles agree within
    // HDR precision (3 significant digits: 0.1%).
    for q in [50.0, 95.0, 99.0] {
        let (a, b) = (p(&merged, "synthetic", q), p(&single, "synthetic", q));
        assert!((a - b).abs() <= a * 0.001, "p{q}: merged {a} vs single {b}");
    }
    assert_eq!(merged.custom["synthetic"].count, 400);
    // Each iteration knew its shard: 100 iterations each of shards 1..=4.
    assert_eq!(
        merged.custom["shard_index"].sum,
        100.0 * (1 + 2 + 3 + 4) as f64
    );
    assert_eq!(single.custom["shard_index"].sum, 400.0);
    // Wall-clock latency: every iteration sleeps 2 ms; a loaded 2-core
    // machine adds scheduling delay, never takes it away.
    assert!(
        merged.latency.min_ns >= 2_000_000,
        "{}",
        merged.latency.min_ns
    );
    assert_eq!(merged.histogram.len(), 400);

    // Thresholds are judged once, on the merged data: `count >= 400` held
    // there, while no shard (100 each) could have met it.
    let count = merged
        .thresholds
        .iter()
        .find(|t| t.threshold.contains("count of"))
        .unwrap();
    assert!(count.passed, "{count:?}");
    assert!(merged.passed, "{}", merged.summary());
    assert!(shards
        .iter()
        .all(|s| s.data.custom["synthetic"].count == 100));

    // A missing shard is an error naming it, never a partial verdict.
    let three: Vec<ShardResult> = shards
        .iter()
        .filter(|s| s.shard.index != 3)
        .cloned()
        .collect();
    match shard::merge(three) {
        Err(MergeError::Missing { missing, total, .. }) => {
            assert_eq!((missing, total), (vec![3], 4))
        }
        other => panic!("{other:?}"),
    }
    // So is a shard given twice.
    let mut twice = shards.clone();
    twice.push(shards[0].clone());
    let err = shard::merge(twice).unwrap_err();
    assert!(matches!(err, MergeError::Duplicate { .. }), "{err}");
    assert!(
        err.to_string()
            .contains(&format!("shard {}", shards[0].shard)),
        "{err}"
    );
}

#[test]
fn shard_results_round_trip_through_s3_on_the_local_stack() {
    let Some(_stack) = perf_runtime::aws::stack_or_skip("shard_results_round_trip_through_s3")
    else {
        return;
    };
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let bucket = format!("perf-shards-{}", std::process::id());
    runtime.block_on(async {
        perf_runtime::aws::s3::client()
            .await
            .create_bucket()
            .bucket(&bucket)
            .send()
            .await
            .unwrap();
    });
    let url = format!("s3://{bucket}/run-1/");
    let dir = tempfile::tempdir().unwrap();
    for i in 1..=2 {
        let report = fixed_latency()
            .repeat(40)
            .shard(Shard::new(i, 2).unwrap())
            .report_dir(dir.path())
            .quiet()
            .run(body)
            .unwrap();
        let written = runtime
            .block_on(perf_runtime::aws::s3::put_result(
                &url,
                report.shard_result().unwrap(),
            ))
            .unwrap();
        assert!(
            written.starts_with(&url) && written.ends_with(&format!(".shard-{i}-of-2.json")),
            "{written}"
        );
    }
    let back = runtime
        .block_on(perf_runtime::aws::s3::read_results(&url))
        .unwrap();
    assert_eq!(back.len(), 2);
    let merged = shard::merge(back).unwrap();
    assert_eq!(merged.iterations, 40);
    assert_eq!(merged.custom["synthetic"].count, 40);
}
