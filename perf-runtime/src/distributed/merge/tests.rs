//! The merge on synthetic shards: timelines, windows, counts and refusals.

use super::*;
use crate::model::measured::{new_histogram, ErrorCount};
use crate::model::shard::EncodedHistogram;
use crate::model::threshold::Threshold;
use crate::model::timeline::Second;

pub(crate) fn synthetic(
    index: u32,
    start_s: u64,
    seconds: &[(u64, u64)],
    throttles: u64,
) -> ShardResult {
    let mut r = Recorded::empty(false);
    for (i, &(n, latency)) in seconds.iter().enumerate() {
        let mut second = Second::new();
        for _ in 0..n {
            second.record(latency, false);
            r.histogram.record(latency).unwrap();
        }
        r.timeline.add(i as u32, &second);
        r.iterations += n;
    }
    r.errors = throttles;
    r.classes.insert("throttle".into(), throttles);
    r.error_counts.push(ErrorCount {
        kind: crate::ErrorKind::Error,
        message: "Throttled".into(),
        count: throttles,
        example: "Throttled".into(),
        cause: None,
    });
    let load = LoadShape::default();
    let measured = Measured::of(
        r,
        UNIX_EPOCH + Duration::from_secs(start_s),
        Duration::from_secs(seconds.len() as u64),
    );
    let thresholds = [
        Threshold::p(95.0).lt(Duration::from_millis(10)).per(1),
        Threshold::class_rate("throttle").lt(0.1),
    ];
    ShardResult::new(
        "t::merge",
        Shard::new(index, 2).unwrap(),
        &load,
        &load,
        &thresholds,
        false,
        &measured,
    )
}

#[test]
fn timelines_line_up_on_the_common_start_and_windows_are_judged_merged() {
    let ms = 1_000_000;
    // Shard 2 started a second after shard 1; its second 1 (the run's
    // second 2) was slow.
    let one = synthetic(1, 1_000, &[(10, ms), (10, ms), (10, ms)], 2);
    let two = synthetic(2, 1_001, &[(10, ms), (10, 50 * ms), (10, ms)], 3);
    let back = ShardResult::from_json(&two.to_json(), "two").unwrap();
    let report = merge(vec![back, one]).unwrap();
    let per_second: Vec<u64> = report.timeline.iter().map(|p| p.iterations).collect();
    assert_eq!(per_second, [10, 20, 20, 10]);
    assert_eq!(report.elapsed(), Duration::from_secs(4));
    assert!(
        report.timeline[2].p95_ns >= 49 * ms,
        "{:?}",
        report.timeline[2]
    );
    let windowed = &report.thresholds[0];
    let w = windowed.windows.as_ref().unwrap();
    assert!(!windowed.passed);
    assert_eq!((w.checked, w.broken, w.first_broken_start), (4, 1, Some(2)));
    // Classes and messages add up: 5 throttles of 60 iterations.
    assert_eq!(report.error_classes["throttle"], 5);
    assert_eq!(report.error_counts[0].count, 5);
    assert!(report.thresholds[1].passed, "{:?}", report.thresholds[1]);
}

/// Merges `results`, expecting an `Inconsistent` error about `field`
/// that names `source`.
fn refused(results: Vec<ShardResult>, field: &str, source: &str) -> String {
    match merge(results) {
        Err(e @ MergeError::Inconsistent { .. }) => {
            let text = e.to_string();
            assert!(
                text.contains(&format!("`{field}`")) && text.contains(source),
                "{text}"
            );
            text
        }
        Err(e) => panic!("expected an inconsistency in {field}, got: {e}"),
        Ok(_) => panic!("merged though {field} was wrong"),
    }
}

fn named(mut r: ShardResult, source: &str) -> ShardResult {
    r.source = Some(source.into());
    r
}

#[test]
fn shards_outside_their_total_are_refused() {
    let ms = 1_000_000;
    let pair = || {
        (
            named(synthetic(1, 1_000, &[(10, ms)], 0), "one"),
            named(synthetic(2, 1_000, &[(10, ms)], 0), "two"),
        )
    };
    let (one, two) = pair();
    let mut extra = named(two.clone(), "copy");
    extra.shard = Shard { index: 3, total: 2 };
    let e = refused(vec![one, two, extra], "shard", "copy");
    assert!(e.contains("3/2"), "{e}");
    for (index, total) in [(0, 2), (1, 0)] {
        let (mut one, two) = pair();
        one.shard = Shard { index, total };
        refused(vec![one, two], "shard", "one");
    }
}

#[test]
fn counts_that_cannot_be_are_refused() {
    let ms = 1_000_000;
    let one = || named(synthetic(1, 1_000, &[(10, ms)], 0), "one");
    let two = || named(synthetic(2, 1_000, &[(10, ms)], 0), "two");
    // More errors than iterations.
    let mut bad = two();
    bad.data.errors = 25;
    refused(vec![one(), bad], "errors", "two");
    // Counts that wrap when added.
    let (mut a, mut b) = (one(), two());
    for r in [&mut a, &mut b] {
        r.data.iterations = u64::MAX;
    }
    match merge(vec![a, b]) {
        Err(MergeError::Corrupt(e)) => {
            assert!(e.contains("iterations") && e.contains("two"), "{e}")
        }
        other => panic!("{:?}", other.map(|r| r.iterations)),
    }
    // A timeline that counts more than the shard ran.
    let mut bad = two();
    bad.data.iterations = 5;
    refused(vec![one(), bad], "timeline", "two");
    // A latency above the recorder's one-hour ceiling.
    let mut bad = two();
    let mut h = new_histogram();
    h.record(u64::MAX / 4).unwrap();
    bad.data.timeline[0].latency = EncodedHistogram::encode(&h);
    match merge(vec![one(), bad]) {
        Err(MergeError::Corrupt(e)) => {
            assert!(e.contains("ceiling") && e.contains("two"), "{e}")
        }
        other => panic!("{:?}", other.map(|r| r.iterations)),
    }
    // A timeline longer than the limit: refused before it is decoded.
    let mut bad = two();
    let second = bad.data.timeline[0].clone();
    bad.data.timeline = vec![second; MAX_TIMELINE_SECONDS + 1];
    refused(vec![one(), bad], "timeline", "two");
    // Batching that claims more iterations than ran, or a clock that
    // is not a duration.
    let batched = |clock_ns, batched_iterations| Batching {
        clock_ns,
        iterations_per_sample: 16,
        batched_iterations,
    };
    let mut bad = two();
    bad.batching = Some(batched(20.0, 11));
    refused(vec![one(), bad], "batching", "two");
    let mut bad = two();
    bad.batching = Some(batched(f64::NAN, 5));
    refused(vec![one(), bad], "batching.clock_ns", "two");
}

#[test]
fn batching_of_the_shards_is_carried_into_the_merge() {
    let ms = 1_000_000;
    let mut one = synthetic(1, 1_000, &[(10, ms)], 0);
    one.batching = Some(Batching {
        clock_ns: 30.0,
        iterations_per_sample: 8,
        batched_iterations: 6,
    });
    let mut two = synthetic(2, 1_000, &[(10, ms)], 0);
    two.batching = Some(Batching {
        clock_ns: 20.0,
        iterations_per_sample: 16,
        batched_iterations: 9,
    });
    let back = ShardResult::from_json(&two.to_json(), "two").unwrap();
    let b = merge(vec![one, back]).unwrap().batching.unwrap();
    assert_eq!(
        (b.clock_ns, b.iterations_per_sample, b.batched_iterations),
        (20.0, 16, 15)
    );
}

#[test]
fn shards_of_different_tests_are_refused() {
    let ms = 1_000_000;
    let one = named(synthetic(1, 1_000, &[(10, ms)], 0), "one");
    let mut two = named(synthetic(2, 1_000, &[(10, ms)], 0), "two");
    two.declared.workers = 7;
    refused(vec![one.clone(), two], "declared", "two");
    let mut two = named(synthetic(2, 1_000, &[(10, ms)], 0), "two");
    two.thresholds.pop();
    let e = refused(vec![one.clone(), two], "thresholds", "two");
    assert!(e.contains("p95"), "{e}");
    let mut two = named(synthetic(2, 1_000, &[(10, ms)], 0), "two");
    two.after.baseline = Some("v2".into());
    refused(vec![one, two], "after", "two");
}

#[test]
fn a_clock_that_is_off_is_named_not_allocated_for() {
    let ms = 1_000_000;
    let shards = |skew_of_third: i64| {
        (1..=4)
            .map(|i| {
                let start = if i == 3 {
                    1_000_000 + skew_of_third
                } else {
                    1_000_000
                };
                let mut r = named(
                    synthetic(1, start as u64, &[(10, ms); 3], 0),
                    &format!("s{i}"),
                );
                r.shard = Shard { index: i, total: 4 };
                r
            })
            .collect::<Vec<_>>()
    };
    // Within the run's length plus the slack: fine.
    assert_eq!(merge(shards(30)).unwrap().iterations, 120);
    for skew in [-1_000_000, 86_400, 30 * 86_400] {
        let e = refused(shards(skew), "started_at_unix_ns", "s3");
        assert!(e.contains("clock is off"), "{e}");
    }
    // A start of 0 (the epoch) in one shard of four.
    let mut all = shards(0);
    all[2].started_at_unix_ns = 0;
    refused(all, "started_at_unix_ns", "s3");
}

#[test]
fn the_shards_resources_are_merged_when_every_shard_has_them() {
    let ms = 1_000_000;
    let resources = |cpu_seconds: f64, rss: u64| crate::model::resources::Resources {
        cores: 2.0,
        window_s: 3.0,
        cpu_seconds,
        cpu_user_seconds: cpu_seconds,
        cpu_avg: cpu_seconds / 6.0,
        cpu_max: cpu_seconds / 6.0,
        rss_peak_bytes: rss,
        rss_held_before_bytes: 0,
        threads_max: 4,
        voluntary_switches: 1,
        involuntary_switches: 0,
        net: None,
        saturated_s: 0.0,
        samples: Vec::new(),
        processes: Vec::new(),
    };
    let mut one = synthetic(1, 1_000, &[(10, ms), (10, ms), (10, ms)], 0);
    let mut two = synthetic(2, 1_000, &[(10, ms), (10, ms), (10, ms)], 0);
    one.resources = Some(resources(3.0, 100 << 20));
    let without = merge(vec![one.clone(), two.clone()]).unwrap();
    assert!(without.resources.is_none(), "one shard has none");
    two.resources = Some(resources(1.0, 300 << 20));
    // Through the file format, as the merge reads them.
    let two: ShardResult = serde_json::from_str(&serde_json::to_string(&two).unwrap()).unwrap();
    let report = merge(vec![one, two]).unwrap();
    let r = report
        .resources
        .as_ref()
        .expect("both shards have resources");
    assert_eq!(r.cores, 4.0);
    assert!((r.cpu_avg - 4.0 / 12.0).abs() < 1e-12, "{r:?}");
    assert_eq!(r.rss_peak_bytes, 300 << 20, "the larger shard's peak");
}

/// A shard's resources: `cores` busy `cpu_seconds` over `window_s`,
/// half of it in user mode, nothing else of note.
fn resources(cores: f64, window_s: f64, cpu_seconds: f64) -> crate::model::resources::Resources {
    crate::model::resources::Resources::for_tests(cores, window_s, cpu_seconds)
}

/// The merge's error text, expecting it to refuse `results`.
fn corrupt(results: Vec<ShardResult>) -> String {
    match merge(results) {
        Err(e @ MergeError::Corrupt(_)) => e.to_string(),
        Err(e) => panic!("expected a refusal of the file, got: {e}"),
        Ok(r) => panic!("merged: {} iterations", r.iterations),
    }
}

#[test]
fn counters_that_wrap_when_added_refuse_the_file() {
    let ms = 1_000_000;
    let one = || named(synthetic(1, 1_000, &[(10, ms)], 0), "one");
    let two = || named(synthetic(2, 1_000, &[(10, ms)], 0), "two");
    let (mut a, mut b) = (one(), two());
    for r in [&mut a, &mut b] {
        r.unscheduled = u64::MAX;
    }
    let e = corrupt(vec![a, b]);
    assert!(e.contains("`unscheduled`") && e.contains("two"), "{e}");
    for field in ["iterations", "errors"] {
        let (mut a, mut b) = (one(), two());
        for r in [&mut a, &mut b] {
            let w = r.warmup.insert(WarmupStats {
                iterations: u64::MAX,
                errors: 0,
            });
            if field == "errors" {
                (w.iterations, w.errors) = (1, u64::MAX);
            }
        }
        let e = corrupt(vec![a, b]);
        assert!(e.contains(&format!("`warmup.{field}`")), "{e}");
    }
    // Per-message, per-class and per-tag counts are parts of `errors`:
    // at u64::MAX they are more than the shard's errors, and refused as
    // that before anything adds them.
    let mut bad = two();
    bad.data.classes.insert("throttle".into(), u64::MAX);
    let e = corrupt(vec![one(), bad]);
    assert!(
        e.contains("`data.classes.throttle`") && e.contains("two"),
        "{e}"
    );
}

#[test]
fn impossible_figures_of_a_shard_refuse_it_by_field() {
    let ms = 1_000_000;
    let one = || named(synthetic(1, 1_000, &[(10, ms), (10, ms)], 4), "one");
    let two = || named(synthetic(2, 1_000, &[(10, ms), (10, ms)], 4), "two");
    let mut bad = two();
    bad.data.error_counts[0].count = 2_000_000_000;
    let e = corrupt(vec![one(), bad]);
    assert!(
        e.contains("`data.error_counts`") && e.contains("two"),
        "{e}"
    );
    for (cpu_seconds, cores, field) in [
        (-1000.0, 2.0, "resources.cpu_seconds"),
        (1.0, 0.0, "resources.cores"),
        (1.0, -4.0, "resources.cores"),
    ] {
        let (mut a, mut b) = (one(), two());
        a.resources = Some(resources(2.0, 2.0, 0.5));
        b.resources = Some(resources(cores, 2.0, cpu_seconds));
        let e = corrupt(vec![a, b]);
        assert!(
            e.contains(&format!("`{field}`")) && e.contains("two"),
            "{e}"
        );
    }
}

#[test]
fn many_distinct_messages_and_processes_merge_in_one_pass() {
    // 20,000 distinct messages a shard (a run keeps 100 a kind; a file
    // can hold any number): each adds to its own group across shards.
    let ms = 1_000_000;
    let n = 20_000u64;
    let shard = |index| {
        let mut r = synthetic(index, 1_000, &[(n, ms)], n);
        r.data.error_counts = (0..n)
            .map(|i| ErrorCount {
                kind: crate::ErrorKind::Error,
                message: format!("message {i}"),
                count: 1,
                example: String::new(),
                cause: None,
            })
            .collect();
        r
    };
    let with_processes = |index| {
        let mut r = shard(index);
        let mut res = resources(2.0, 1.0, 1.0);
        res.processes = (0..n)
            .map(|i| crate::model::resources::ProcessResources {
                name: format!("fn-{i}"),
                monitor: format!("name:fn-{i}"),
                cpu_seconds: 0.25,
                cpu_avg: 0.01,
                cpu_max: 0.01,
                rss_peak_bytes: 1,
                processes_max: 1,
                samples: Vec::new(),
            })
            .collect();
        r.resources = Some(res);
        r
    };
    let report = merge(vec![with_processes(1), with_processes(2)]).unwrap();
    assert_eq!(report.error_counts.len(), n as usize);
    assert!(report.error_counts.iter().all(|c| c.count == 2));
    let processes = &report.resources.as_ref().unwrap().processes;
    assert_eq!(processes.len(), n as usize);
    assert!(processes
        .iter()
        .all(|p| p.cpu_seconds == 0.5 && p.processes_max == 2));
}
