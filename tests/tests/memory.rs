//! Memory figures, leak detection and memory thresholds, with the tracking
//! allocator installed in this test binary.

use std::collections::HashMap;
use std::hint::black_box;
use std::sync::{Barrier, LazyLock, Mutex};

use perf_runtime::prelude::*;

perf_runtime::track_allocations!();

fn quiet(name: &str) -> PerfTest {
    PerfTest::new(name).no_report_file().quiet()
}

#[test]
fn allocations_per_iteration_are_exact() {
    let report = quiet("memory::exact")
        .workers(2)
        .repeat(1_000)
        .run(|_| async {
            // Two allocations: 8 bytes and 10 bytes.
            black_box(Box::new(7u64));
            black_box(Vec::<u8>::with_capacity(10));
        })
        .unwrap();
    let m = report
        .memory
        .as_ref()
        .expect("the tracking allocator is installed");
    assert_eq!(m.allocations, 2_000);
    assert_eq!(m.allocs_per_iter, 2.0);
    assert_eq!(m.bytes_per_iter, 18.0);
    assert_eq!(m.live_bytes_at_end, 0);
    assert!(!m.leak.detected);
}

#[test]
fn a_leak_of_one_small_allocation_per_iteration_is_flagged_with_its_size() {
    let report = quiet("memory::leak")
        .workers(2)
        .repeat(20_000)
        .run(|_| async {
            // Keeps 48 bytes every iteration.
            std::mem::forget(Box::new([1u8; 48]));
            black_box(String::from("temporary, freed"));
        })
        .unwrap();
    let m = report.memory.unwrap();
    assert!(m.leak.detected, "{:?}", m.leak);
    // The fit is over retained bytes at checkpoints: within 10% of 48.
    assert!((m.leak.bytes_per_iter - 48.0).abs() < 4.8, "{:?}", m.leak);
    assert!(m.live_bytes_at_end >= 48 * 20_000);
}

static CACHE: LazyLock<Mutex<HashMap<u64, String>>> = LazyLock::new(|| Mutex::new(HashMap::new()));

#[test]
fn a_bounded_cache_filled_early_is_not_a_leak() {
    let report = quiet("memory::cache")
        .workers(2)
        .repeat(20_000)
        .run(|ctx| async move {
            // 500 entries, all created in the first 2.5% of the run.
            let key = ctx.iteration() % 500;
            CACHE
                .lock()
                .unwrap()
                .entry(key)
                .or_insert_with(|| format!("{key:0>64}"));
        })
        .unwrap();
    let m = report.memory.unwrap();
    assert!(!m.leak.detected, "{:?}", m.leak);
    assert!(m.leak.bytes_per_iter < 1.0, "{:?}", m.leak);
    // The cache itself is what stays: 500 strings of 64 bytes and the map.
    assert!(m.live_bytes_at_end >= 500 * 64);
}

#[test]
fn two_perf_tests_running_in_parallel_see_only_their_own_allocations() {
    const BIG: usize = 1 << 20;
    const SMALL: usize = 10_000;
    let start = Barrier::new(2);
    let run = |name: &'static str, size: usize| {
        start.wait();
        quiet(name)
            .workers(2)
            .duration(std::time::Duration::from_millis(500))
            .run(move |_| async move {
                let buffer = vec![0u8; size];
                black_box(&buffer);
            })
            .unwrap()
    };
    let (big, small) = std::thread::scope(|s| {
        let big = s.spawn(|| run("memory::parallel_big", BIG));
        let small = s.spawn(|| run("memory::parallel_small", SMALL));
        (big.join().unwrap(), small.join().unwrap())
    });
    let (b, s) = (big.memory.unwrap(), small.memory.unwrap());
    // Each iteration makes exactly one allocation of its own size; the
    // other test's (100× larger or smaller) never appear.
    assert_eq!(b.allocs_per_iter, 1.0, "{b:?}");
    assert_eq!(b.bytes_per_iter, BIG as f64);
    assert_eq!(s.allocs_per_iter, 1.0, "{s:?}");
    assert_eq!(s.bytes_per_iter, SMALL as f64);
    // Peak: at most one buffer per worker at once (2 workers), plus the
    // batching slack of two threads.
    let slack = 2 * perf_runtime::memory::PEAK_BATCH as u64;
    assert!(
        b.peak_live_bytes >= BIG as u64 && b.peak_live_bytes <= 2 * BIG as u64 + slack,
        "{b:?}"
    );
    assert!(s.peak_live_bytes <= 2 * SMALL as u64 + slack, "{s:?}");
}

#[perf_test(repeat = 200, allocs_per_iter <= 3, bytes_per_iter < "4KiB", peak_heap < "10MB", leaks == 0, leak_per_iter < "64B")]
async fn memory_thresholds_pass() {
    black_box(vec![0u8; 1000]);
}

#[test]
fn a_leak_seen_at_too_few_checkpoints_is_unknown_not_no_leak() {
    let report = quiet("memory::two_iterations")
        .repeat(2)
        .run(|_| async {
            // Keeps 35 MiB every iteration.
            std::mem::forget(black_box(vec![1u8; 35 << 20]));
        })
        .unwrap();
    let m = report.memory.as_ref().unwrap();
    assert!(m.leak.inconclusive && !m.leak.detected, "{:?}", m.leak);
    assert!(
        report.summary().contains("leak unknown (") && !report.summary().contains("no leak"),
        "{}",
        report.summary()
    );
    // A run of 200 iterations has checkpoints enough to say "no leak".
    let report = quiet("memory::two_hundred")
        .repeat(200)
        .run(|_| async {
            black_box(vec![0u8; 1000]);
        })
        .unwrap();
    let leak = &report.memory.as_ref().unwrap().leak;
    assert!(!leak.inconclusive && !leak.detected, "{leak:?}");
    assert!(
        leak.checkpoints >= perf_runtime::memory::MIN_LEAK_CHECKPOINTS,
        "{leak:?}"
    );
}

#[perf_test(repeat = 2, leaks == 0, inconclusive = "fail")]
#[should_panic(expected = "leaks: observed too few leak checkpoints to tell")]
async fn a_leak_threshold_on_too_few_checkpoints_fails_under_inconclusive_fail() {
    std::mem::forget(black_box(vec![1u8; 35 << 20]));
}

#[perf_test(repeat = 200, allocs_per_iter <= 1)]
#[should_panic(expected = "allocs_per_iter: observed 3.00 (limit <= 1)")]
async fn allocs_per_iter_threshold_fails() {
    black_box((Box::new(1), Box::new(2), Box::new(3)));
}

#[perf_test(workers = 2, repeat = 20_000, leaks == 0)]
#[should_panic(expected = "leaks: observed 1")]
async fn leak_threshold_fails() {
    std::mem::forget(vec![0u8; 64]);
}

#[test]
fn memory_profiler_counts_this_threads_allocations() {
    let profiler = MemoryProfiler::start();
    let results: Vec<String> = (0..1000).map(|i| i.to_string()).collect();
    let during = profiler.stats();
    assert!(during.allocations >= 1001, "{during:?}");
    assert!(during.heap_alloc_bytes > 0 && during.leak_detected);
    drop(results);
    let after = profiler.stop();
    assert_eq!(after.heap_alloc_bytes, 0);
    assert!(!after.leak_detected);
    assert!(after.peak_bytes >= during.heap_alloc_bytes);
}

#[test]
fn memory_figures_are_in_the_summary_and_the_json() {
    let dir = tempfile::tempdir().unwrap();
    let report = PerfTest::new("memory::json")
        .repeat(100)
        .report_dir(dir.path())
        .quiet()
        .run(|_| async {
            black_box(vec![0u8; 100]);
        })
        .unwrap();
    assert!(
        report.summary().contains("1.00 allocs/iter  100 B/iter"),
        "{}",
        report.summary()
    );
    let json: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("memory/json.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(json["memory"]["allocs_per_iter"], 1.0);
    assert_eq!(json["memory"]["bytes_per_iter"], 100.0);
    assert_eq!(json["memory"]["leak"]["detected"], false);
}

#[test]
fn tags_classes_and_custom_metrics_allocate_nothing_in_the_iteration() {
    let report = quiet("memory::notes")
        .workers(2)
        .repeat(500)
        .threshold(Threshold::error_rate().le(1.0))
        .run(|ctx| async move {
            ctx.tag(if ctx.iteration() % 2 == 0 {
                "even"
            } else {
                "odd"
            });
            ctx.record("units", 1.5);
            ctx.count("calls", 1);
            if ctx.iteration() % 5 == 0 {
                ctx.error_class("throttle");
                return Err("throttled");
            }
            Ok(())
        })
        .unwrap();
    assert_eq!(report.tags["even"].iterations, 250);
    assert_eq!(report.error_classes["throttle"], 100);
    let m = report.memory.unwrap();
    // Noting, and the framework's bookkeeping of the 100 failures (their
    // `Debug` text, the error log), are not the iteration's allocations.
    assert_eq!(m.allocations, 0, "{m:?}");
}

#[test]
fn names_made_at_run_time_allocate_nothing_in_the_iteration() {
    // Strings made outside the iteration, borrowed inside it: the first
    // use of each value interns it (the framework's allocation), and no
    // use costs the iteration anything.
    let statuses: std::sync::Arc<Vec<String>> = std::sync::Arc::new(
        (0..3)
            .map(|i| format!("memory_status_{}", 200 + i))
            .collect(),
    );
    let report = quiet("memory::dynamic_names")
        .workers(2)
        .repeat(300)
        .run(move |ctx| {
            let statuses = statuses.clone();
            async move {
                let status = statuses[ctx.iteration() as usize % 3].as_str();
                ctx.tag(status);
                ctx.count(status, 1);
            }
        })
        .unwrap();
    assert_eq!(report.tags["memory_status_200"].iterations, 100);
    assert_eq!(report.custom["memory_status_202"].count, 100);
    let m = report.memory.unwrap();
    assert_eq!(m.allocations, 0, "{m:?}");
}

/// A 10 KB case argument is cloned for every iteration before its timed
/// part, and that clone is not the body's: a body that allocates nothing
/// shows none (it showed `1.00 allocs/iter 9.77 KiB/iter` when the clone
/// was counted).
#[perf_test(repeat = 200, allocs_per_iter <= 0)]
#[case::large("x".repeat(10_000))]
async fn case_arguments_are_not_the_bodys_allocations(text: String) {
    black_box(text.len());
}

#[test]
fn work_before_the_async_block_is_preparation() {
    let big = vec![0u8; 10_000];
    let report = quiet("memory::prepared")
        .repeat(200)
        .run(move |_| {
            let input = big.clone();
            async move {
                black_box(input.len());
            }
        })
        .unwrap();
    let m = report.memory.as_ref().unwrap();
    assert_eq!((m.allocations, m.bytes_per_iter), (0, 0.0), "{m:?}");
}
