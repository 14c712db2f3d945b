//! Reports and shard figures no run could have produced are refused,
//! naming the field; every figure a run produces passes.

use std::time::Duration;

use hdrhistogram::Histogram;

use crate::model::capacity::{CapacityAxis, CapacityResult, CapacityStep, StepOutcome};
use crate::model::measured::Recorded;
use crate::model::report::Report;
use crate::model::resources::{ProcessResources, Resources};
use crate::model::shard::{CustomData, RecordedData};

fn report() -> Report {
    let mut h = Histogram::new(3).unwrap();
    for i in 1..=100u64 {
        h.record(i * 1_000_000).unwrap();
    }
    Report::from_parts("t", h, 2, Duration::from_secs(2))
}

fn resources() -> Resources {
    Resources {
        cores: 2.0,
        window_s: 10.0,
        cpu_seconds: 4.0,
        cpu_user_seconds: 3.0,
        cpu_avg: 0.2,
        cpu_max: 0.9,
        rss_peak_bytes: 1 << 20,
        rss_held_before_bytes: 0,
        threads_max: 4,
        voluntary_switches: 1,
        involuntary_switches: 1,
        net: None,
        saturated_s: 0.0,
        samples: Vec::new(),
        processes: vec![ProcessResources {
            name: "db".into(),
            monitor: "name:db".into(),
            cpu_seconds: 1.0,
            cpu_avg: 0.05,
            cpu_max: 0.1,
            rss_peak_bytes: 1,
            processes_max: 1,
            samples: Vec::new(),
        }],
    }
}

fn capacity() -> CapacityResult {
    CapacityResult {
        axis: CapacityAxis::Rate,
        capacity: Some(360.0),
        at_least: false,
        first_broken: Some(370.0),
        broken_by: None,
        generator_limited: None,
        knee: Some(370.0),
        range: (100.0, 5_000.0),
        steps: vec![CapacityStep {
            offered: 100.0,
            achieved: 99.0,
            iterations: 10,
            dropped: 0,
            p50_ns: 1,
            p95_ns: 2,
            p99_ns: 3,
            mean_ns: 1,
            error_rate: 0.0,
            start_delay_p95_ns: None,
            cpu: Some(0.5),
            outcome: StepOutcome::Held,
        }],
        verdict: String::new(),
    }
}

/// A field and a change that puts it out of range.
type Spoil<T> = (&'static str, fn(&mut T));

/// The field a refusal names, checking that its reason says the value.
fn refused(r: &Report) -> String {
    let e = r.check_schema().expect_err("a report no run could produce");
    assert!(e.starts_with("field `"), "{e}");
    e
}

#[test]
fn what_a_run_produces_passes() {
    let mut r = report();
    r.capacity = Some(capacity());
    r.resources = Some(resources());
    r.check_schema().unwrap();
    // The largest figures a report may hold, too.
    let c = r.capacity.as_mut().unwrap();
    (c.capacity, c.knee, c.range) = (Some(1e9), Some(1e9), (1.0, 1e9));
    r.check_schema().unwrap();
}

#[test]
fn capacities_no_run_reaches_are_refused_by_field() {
    let cases: [Spoil<CapacityResult>; 6] = [
        ("capacity.capacity", |c| c.capacity = Some(1e300)),
        ("capacity.knee", |c| c.knee = Some(1e308)),
        ("capacity.capacity", |c| c.capacity = Some(-5.0)),
        ("capacity.range", |c| c.range = (500.0, 100.0)),
        ("capacity.steps[0].achieved", |c| {
            c.steps[0].achieved = f64::NAN
        }),
        ("capacity.steps[0].error_rate", |c| {
            c.steps[0].error_rate = 3.0
        }),
    ];
    for (field, spoil) in cases {
        let mut r = report();
        let mut c = capacity();
        spoil(&mut c);
        r.capacity = Some(c);
        let e = refused(&r);
        assert!(e.contains(&format!("`{field}`")), "{field}: {e}");
    }
    let mut r = report();
    r.capacity.insert(capacity()).knee = Some(1e308);
    assert!(refused(&r).contains("is 1e308, not a rate per second"));
}

#[test]
fn impossible_resources_are_refused_by_field() {
    let cases: [Spoil<Resources>; 6] = [
        ("resources.cpu_seconds", |r| r.cpu_seconds = -1000.0),
        ("resources.cpu_seconds", |r| r.cpu_seconds = 1e6),
        ("resources.cores", |r| r.cores = 0.0),
        ("resources.cores", |r| r.cores = -2.0),
        ("resources.cpu_avg", |r| r.cpu_avg = 249.0),
        ("resources.processes[0].cpu_seconds", |r| {
            r.processes[0].cpu_seconds = -1.0
        }),
    ];
    for (field, spoil) in cases {
        let mut res = resources();
        spoil(&mut res);
        let mut r = report();
        r.resources = Some(res);
        let e = refused(&r);
        assert!(e.contains(&format!("`{field}`")), "{field}: {e}");
    }
}

#[test]
fn counts_and_stats_that_disagree_are_refused() {
    let mut r = report();
    r.errors = r.iterations + 1;
    assert!(refused(&r).contains("`errors`"));
    let mut r = report();
    r.error_rate = 1.5;
    assert!(refused(&r).contains("`error_rate`"));
    let mut r = report();
    (r.latency.min_ns, r.latency.max_ns) = (10, 5);
    assert!(refused(&r).contains("`latency.min_ns`"));
    let mut r = report();
    r.throughput = 1e300;
    assert!(refused(&r).contains("`throughput`"));
}

fn data() -> RecordedData {
    let mut d = RecordedData::of(&Recorded::empty(false));
    (d.iterations, d.errors) = (100, 80);
    d.custom.insert(
        format!("{}status is 200", perf_spec::CHECK_PREFIX),
        CustomData {
            kind: "count".into(),
            count: 100,
            sum: 90.0,
            min: 0.0,
            max: 1.0,
            histogram: None,
            m2: Some(9.0),
        },
    );
    d
}

#[test]
fn a_shards_recorded_figures_must_agree() {
    data().check_figures().unwrap();
    let check = format!("{}status is 200", perf_spec::CHECK_PREFIX);
    let mut d = data();
    d.custom.get_mut(&check).unwrap().sum = 5_000_000.0;
    let (field, reason) = d.check_figures().unwrap_err();
    assert!(
        field.ends_with(".sum") && reason.contains("at most once"),
        "{field} {reason}"
    );
    let mut d = data();
    d.custom.get_mut(&check).unwrap().m2 = Some(-1.0);
    assert!(d.check_figures().unwrap_err().0.ends_with(".m2"));
    let mut d = data();
    let c = d.custom.get_mut(&check).unwrap();
    (c.min, c.max) = (3.0, 1.0);
    assert!(d.check_figures().unwrap_err().0.ends_with(".min"));
    let mut d = data();
    d.error_counts.push(crate::model::measured::ErrorCount {
        kind: crate::ErrorKind::Error,
        message: "boom".into(),
        count: 2_000_000_000,
        example: String::new(),
        cause: None,
    });
    let (field, reason) = d.check_figures().unwrap_err();
    assert_eq!(field, "data.error_counts", "{reason}");
    assert!(reason.contains("more than the 80 errors"), "{reason}");
}
