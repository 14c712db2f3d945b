//! Heap profiles: a test in which one allocation site leaks 200 bytes per
//! iteration and another allocates ten times as much and frees it writes a
//! pprof heap profile whose top `inuse_space` site is the leaking one
//! (read back from the `.heap.pb.gz` with a protobuf reader), and its
//! summary names that site as where the retained bytes come from.

use std::collections::HashMap;
use std::io::Read as _;
use std::sync::Mutex;

use perf_runtime::prelude::*;
use pprof::protos::Message as _;

perf_runtime::track_allocations!();

/// What the leaking site keeps: it is never cleared.
static KEPT: Mutex<Vec<Box<[u8]>>> = Mutex::new(Vec::new());

/// Leaks 200 bytes.
#[inline(never)]
fn leaky_insert() {
    let block = vec![7u8; 200].into_boxed_slice();
    KEPT.lock().unwrap().push(block);
}

/// Allocates 2,000 bytes and frees them.
#[inline(never)]
fn scratch_buffer() -> usize {
    let v = std::hint::black_box(vec![1u8; 2_000]);
    v.iter().map(|&b| b as usize).sum()
}

/// `(alloc_space, inuse_space)` of the samples whose stack runs through a
/// function whose name contains each needle.
fn space_through(
    profile: &pprof::protos::Profile,
    needles: &[&str],
) -> HashMap<String, (i64, i64)> {
    let name = |id: u64| -> &str {
        let f = profile.function.iter().find(|f| f.id == id).unwrap();
        &profile.string_table[f.name as usize]
    };
    let mut out: HashMap<String, (i64, i64)> = HashMap::new();
    for sample in &profile.sample {
        let functions: Vec<&str> = sample
            .location_id
            .iter()
            .flat_map(|id| {
                let loc = profile.location.iter().find(|l| l.id == *id).unwrap();
                loc.line.iter().map(|l| name(l.function_id))
            })
            .collect();
        for needle in needles {
            if functions.iter().any(|f| f.contains(needle)) {
                let e = out.entry((*needle).to_owned()).or_default();
                e.0 += sample.value[1];
                e.1 += sample.value[3];
            }
        }
    }
    out
}

#[test]
fn a_leaking_site_tops_the_heap_profile_and_the_summary_names_it() {
    let dir = tempfile::tempdir().unwrap();
    let iterations = 20_000u64;
    let report = PerfTest::new("heap::leaking")
        .workers(2)
        .repeat(iterations)
        // One sample per 4 KiB: ~1,000 of the 4 MB leaked, ~10,000 of the
        // 40 MB of scratch space (a standard error of about 3%).
        .heap_profile_rate(4_096)
        .report_dir(dir.path())
        .quiet()
        .env_overrides(false)
        .run(|_| async {
            leaky_insert();
            std::hint::black_box(scratch_buffer());
        })
        .unwrap();
    let memory = report
        .memory
        .as_ref()
        .expect("tracking allocator installed");
    assert!(memory.leak.detected, "{memory:?}");
    let heap = report
        .heap_profile
        .as_ref()
        .expect("heap_profile was asked for");
    assert!(heap.unavailable.is_none(), "{heap:?}");
    assert!(heap.samples > 5_000, "{} samples", heap.samples);

    // The leak: 200 B × 20,000 iterations, plus the 16-byte box pointers
    // in `KEPT` (its buffer grows from the same site): 4.3 MB.
    let leaked = (200.0 + 16.0) * iterations as f64;
    let top = &heap.top_inuse[0];
    assert!(
        top.function.ends_with("leaky_insert"),
        "{:?}",
        heap.top_inuse
    );
    assert!(
        top.location
            .as_deref()
            .is_some_and(|l| l.contains("heap_profile.rs:")),
        "{top:?}"
    );
    assert!(top.share > 0.9, "{top:?}");
    assert!(
        (top.inuse_bytes / leaked - 1.0).abs() < 0.25,
        "{} estimated in use vs {leaked} leaked",
        top.inuse_bytes
    );
    assert!(
        heap.top_alloc[0].function.ends_with("scratch_buffer"),
        "{:?}",
        heap.top_alloc
    );
    let scratch = 2_000.0 * iterations as f64;
    assert!(
        (heap.top_alloc[0].alloc_bytes / scratch - 1.0).abs() < 0.25,
        "{} estimated allocated vs {scratch}",
        heap.top_alloc[0].alloc_bytes
    );

    // The file, as pprof reads it.
    let pb = dir.path().join("heap/leaking.heap.pb.gz");
    assert_eq!(heap.files, [pb.display().to_string()]);
    let mut bytes = Vec::new();
    flate2::read::GzDecoder::new(std::fs::File::open(&pb).unwrap())
        .read_to_end(&mut bytes)
        .unwrap();
    let profile = pprof::protos::Profile::decode(bytes.as_slice()).expect("a pprof protobuf");
    let types: Vec<&str> = profile
        .sample_type
        .iter()
        .map(|t| profile.string_table[t.ty as usize].as_str())
        .collect();
    assert_eq!(
        types,
        [
            "alloc_objects",
            "alloc_space",
            "inuse_objects",
            "inuse_space"
        ]
    );
    let by = space_through(&profile, &["leaky_insert", "scratch_buffer"]);
    let total_inuse: i64 = profile.sample.iter().map(|s| s.value[3]).sum();
    let (leak_alloc, leak_inuse) = by["leaky_insert"];
    let (scratch_alloc, scratch_inuse) = by["scratch_buffer"];
    assert!(
        leak_inuse as f64 > 0.9 * total_inuse as f64,
        "{by:?}, {total_inuse} in use"
    );
    assert!((scratch_inuse as f64) < 0.05 * total_inuse as f64, "{by:?}");
    assert!(scratch_alloc > 5 * leak_alloc, "{by:?}");

    let summary = report.summary();
    println!("{summary}");
    assert!(
        summary.contains("heap profile......: ")
            && summary.contains("retained at end: ")
            && summary.contains("leaky_insert` (tests/heap_profile.rs:"),
        "{summary}"
    );
}

/// The attribute form: a test that frees what it allocates passes its
/// `leaks == 0` with a heap profile taken.
#[perf_test(workers = 2, repeat = 5_000, heap_profile = "16KiB", leaks == 0)]
async fn heap_profile_from_the_attribute() {
    std::hint::black_box(scratch_buffer());
}
