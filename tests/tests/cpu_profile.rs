//! CPU profiles: a profiled test whose body spends most of its time in
//! `hot_spin` (and a little in `cold_path`) writes a pprof profile whose
//! top self-time function is `hot_spin`, read back from the `.pb.gz` with
//! a protobuf reader, and a flame graph beside it.

use std::collections::HashMap;
use std::io::Read as _;
use std::time::{Duration, Instant};

use perf_runtime::prelude::*;
use pprof::protos::Message as _;

/// Xorshift rounds, checking the clock every 20,000 of them: the time is
/// in this function's own instructions (no calls in the loop, even in a
/// debug build), not in the clock's.
#[inline(never)]
fn hot_spin(until: Instant) -> u64 {
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    while Instant::now() < until {
        let mut i = 0u32;
        while i < 20_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            i += 1;
        }
    }
    x
}

/// A twentieth of `hot_spin`'s time, in a loop of its own.
#[inline(never)]
fn cold_path(until: Instant) -> u64 {
    let mut x: u64 = 7;
    while Instant::now() < until {
        let mut i = 0u32;
        while i < 2_000 {
            x ^= x << 5;
            x ^= x >> 3;
            i += 1;
        }
    }
    x
}

/// Self samples per function name, from the profile's protobuf: a
/// sample's first location is its leaf, and a location's first line its
/// innermost (inlined) function.
fn self_samples(profile: &pprof::protos::Profile) -> (HashMap<String, i64>, i64) {
    let name = |id: u64| -> String {
        let f = profile.function.iter().find(|f| f.id == id).unwrap();
        profile.string_table[f.name as usize].clone()
    };
    let mut by_name = HashMap::new();
    let mut total = 0;
    for sample in &profile.sample {
        let count = sample.value[0];
        total += count;
        let Some(&leaf) = sample.location_id.first() else {
            continue;
        };
        let location = profile.location.iter().find(|l| l.id == leaf).unwrap();
        let Some(line) = location.line.first() else {
            continue;
        };
        *by_name.entry(name(line.function_id)).or_insert(0) += count;
    }
    (by_name, total)
}

#[test]
fn a_profiled_test_names_its_hot_function_in_a_profile_pprof_reads() {
    let dir = tempfile::tempdir().unwrap();
    let report = PerfTest::new("profiled::hot_spin")
        .workers(1)
        .warmup(Duration::from_millis(200))
        .duration(Duration::from_secs(2))
        .cpu_profile_hz(499)
        .report_dir(dir.path())
        .quiet()
        .env_overrides(false)
        .run(|_| async {
            let now = Instant::now();
            let x = hot_spin(now + Duration::from_millis(4))
                ^ cold_path(now + Duration::from_millis(4) + Duration::from_micros(200));
            std::hint::black_box(x);
        })
        .unwrap();
    let profile = report
        .cpu_profile
        .clone()
        .expect("cpu_profile was asked for");
    assert!(profile.unavailable.is_none(), "{profile:?}");
    // 2 s of one busy core at 499 Hz: about 1,000 samples (a debug build's
    // timer may skip some; the warm-up is not in it).
    assert!(
        (400..=1_300).contains(&profile.samples),
        "{} samples",
        profile.samples
    );
    assert!(
        profile.top[0].name.contains("hot_spin"),
        "{:?}",
        profile.top
    );

    let pb = dir.path().join("profiled/hot_spin.cpu.pb.gz");
    assert_eq!(profile.files[0], pb.display().to_string());
    let mut bytes = Vec::new();
    flate2::read::GzDecoder::new(std::fs::File::open(&pb).unwrap())
        .read_to_end(&mut bytes)
        .unwrap();
    let decoded = pprof::protos::Profile::decode(bytes.as_slice()).expect("a pprof protobuf");
    let (by_name, total) = self_samples(&decoded);
    let (top, n) = by_name.iter().max_by_key(|(_, n)| **n).unwrap();
    assert!(
        top.contains("hot_spin"),
        "top self time: {top} ({by_name:?})"
    );
    assert!(
        *n as f64 > 0.5 * total as f64,
        "{n} of {total}: {by_name:?}"
    );
    assert!(
        by_name.keys().any(|k| k.contains("cold_path")),
        "{by_name:?}"
    );

    let svg = std::fs::read_to_string(dir.path().join("profiled/hot_spin.flamegraph.svg")).unwrap();
    assert!(
        svg.starts_with("<?xml") && svg.contains("hot_spin"),
        "{}",
        &svg[..200.min(svg.len())]
    );
    let summary = report.summary();
    assert!(
        summary.contains("cpu profile.......: ") && summary.contains("hot_spin"),
        "{summary}"
    );
}

#[test]
fn an_unprofiled_test_has_no_profile() {
    let report = PerfTest::new("profiled::off")
        .workers(1)
        .repeat(10)
        .no_report_file()
        .quiet()
        .env_overrides(false)
        .run(|_| async {})
        .unwrap();
    assert!(report.cpu_profile.is_none());
}

/// The attribute's form: the profile and flame graph land beside the
/// JSON report (`target/perf/cpu_profile/…`), named in the summary.
#[perf_test(workers = 1, duration = "1500ms", warmup = "100ms", cpu_profile = 199)]
async fn a_profile_from_the_attribute() {
    let now = Instant::now();
    std::hint::black_box(
        hot_spin(now + Duration::from_millis(2)) ^ cold_path(now + Duration::from_micros(2100)),
    );
}

#[test]
fn a_heap_profile_without_the_tracking_allocator_says_what_is_missing() {
    // This binary has no `track_allocations!()`.
    let report = PerfTest::new("profiled::no_allocator")
        .repeat(10)
        .heap_profile()
        .no_report_file()
        .quiet()
        .env_overrides(false)
        .run(|_| async {})
        .unwrap();
    let heap = report
        .heap_profile
        .as_ref()
        .expect("heap_profile was asked for");
    let why = heap.unavailable.as_deref().unwrap_or_default();
    assert!(
        why.contains("perf_runtime::track_allocations!();"),
        "{heap:?}"
    );
    assert!(report.passed, "a missing profile does not fail the test");
    assert!(
        report
            .summary()
            .contains("heap profile......: not taken: it needs the tracking allocator"),
        "{}",
        report.summary()
    );
}
