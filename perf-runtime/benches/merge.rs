//! What merging a distributed run costs: `cargo bench -p perf-runtime
//! --bench merge` (release build). 100 shard results of 1,000,000 samples
//! each (latency spread log-normally around 20 ms over 60 seconds of
//! timeline, plus a custom duration metric of as many samples) are written
//! as files; reported are their size, the time to read and parse them,
//! and the time to merge them into one report (histogram addition,
//! thresholds judged on the result).

use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use perf_runtime::shard::{
    self, CustomData, EncodedHistogram, RecordedData, SavedMetric, SavedThreshold, SecondData,
    Shard, ShardResult, SHARD_FORMAT, SHARD_SCHEMA_VERSION,
};
use perf_runtime::{LoadShape, Stop};

const SAMPLES: u64 = 1_000_000;
const SECONDS: u64 = 60;

/// xorshift64*: reproducible samples without a dependency.
struct Rng(u64);
impl Rng {
    fn next_f64(&mut self) -> f64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) as f64 / (1u64 << 53) as f64
    }
    /// Log-normal around `median_ns` (Box-Muller, sigma 0.5).
    fn latency(&mut self, median_ns: f64) -> u64 {
        let (u1, u2) = (self.next_f64().max(1e-12), self.next_f64());
        let z = (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos();
        (median_ns * (0.5 * z).exp()) as u64
    }
}

fn shard_result(index: u32, total: u32) -> ShardResult {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ u64::from(index));
    let mut whole = Histogram::<u64>::new(3).unwrap();
    let mut db = Histogram::<u64>::new(3).unwrap();
    let mut seconds: Vec<Histogram<u32>> = (0..SECONDS)
        .map(|_| Histogram::new_with_bounds(1_000, 2_000, 2).unwrap())
        .collect();
    for s in &mut seconds {
        s.auto(true);
    }
    whole.auto(true);
    db.auto(true);
    for i in 0..SAMPLES {
        let v = rng.latency(20e6);
        whole.record(v).unwrap();
        seconds[(i * SECONDS / SAMPLES) as usize].record(v).unwrap();
        db.record(rng.latency(5e6)).unwrap();
    }
    let per_second = SAMPLES / SECONDS;
    let load = LoadShape {
        workers: 100,
        stop: Stop::Repeat(SAMPLES * u64::from(total)),
        ..LoadShape::default()
    };
    let mut part = load.clone();
    part.workers = 1;
    part.stop = Stop::Repeat(SAMPLES);
    ShardResult {
        format: SHARD_FORMAT.into(),
        schema_version: SHARD_SCHEMA_VERSION,
        name: "bench::merge".into(),
        shard: Shard::new(index, total).unwrap(),
        origin: format!("generator-{index} pid 1"),
        declared: load,
        load: part,
        thresholds: vec![SavedThreshold {
            text: "p95 < 100ms".into(),
            metric: SavedMetric::Percentile(95.0),
            op: "<".into(),
            limit: 100e6,
            window_secs: None,
            tag: None,
            phase: None,
            relative_to: None,
        }],
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
            timeline: seconds
                .iter()
                .map(|h| SecondData {
                    latency: EncodedHistogram::encode(h),
                    iterations: per_second,
                    errors: 0,
                    dropped: 0,
                })
                .collect(),
            iterations: SAMPLES,
            errors: 0,
            timeouts: 0,
            panics: 0,
            saturated: 0,
            dropped: 0,
            error_counts: Vec::new(),
            first_errors: Vec::new(),
            classes: Default::default(),
            tags: Default::default(),
            custom: [(
                "db".to_owned(),
                CustomData {
                    kind: "duration".into(),
                    count: SAMPLES,
                    sum: 0.0,
                    min: db.min() as f64,
                    max: db.max() as f64,
                    histogram: Some(EncodedHistogram::encode(&db)),
                    m2: None,
                },
            )]
            .into(),
        },
        source: None,
    }
}

fn main() {
    let shards: u32 = std::env::args()
        .skip(1)
        .find(|a| !a.starts_with('-'))
        .and_then(|a| a.parse().ok())
        .unwrap_or(100);
    let dir = tempfile::tempdir().unwrap();
    let made = Instant::now();
    let mut bytes = 0u64;
    for i in 1..=shards {
        let r = shard_result(i, shards);
        let path = r.path_in(dir.path());
        r.write(&path).unwrap();
        bytes += std::fs::metadata(&path).unwrap().len();
    }
    println!(
        "merge: {shards} shards x {SAMPLES} samples ({} in all), {SECONDS} s timeline and one custom duration metric each",
        SAMPLES * u64::from(shards)
    );
    println!(
        "  shard results: {:.1} KiB each, {:.2} MiB in all (generated and written in {:.1?})",
        bytes as f64 / f64::from(shards) / 1024.0,
        bytes as f64 / 1024.0 / 1024.0,
        made.elapsed()
    );
    let mut files: Vec<_> = std::fs::read_dir(dir.path().join("bench"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    let mut best_read = Duration::MAX;
    let mut best_merge = Duration::MAX;
    let mut report = None;
    for _ in 0..3 {
        let t = Instant::now();
        let results: Vec<ShardResult> = files
            .iter()
            .map(|f| ShardResult::read(f).unwrap())
            .collect();
        best_read = best_read.min(t.elapsed());
        let t = Instant::now();
        report = Some(shard::merge(results).unwrap());
        best_merge = best_merge.min(t.elapsed());
    }
    let report = report.unwrap();
    println!(
        "  read + parse: {:.1?}   merge: {:.1?}   (best of 3)   merged: {} iterations, p50 {:.2?}, p99 {:.2?}, {} timeline seconds",
        best_read,
        best_merge,
        report.iterations,
        report.percentile(50.0),
        report.percentile(99.0),
        report.timeline.len()
    );
}
