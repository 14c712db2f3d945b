//! Distributed load: one perf test run as `N` shards on as many machines
//! (Kubernetes Indexed Jobs, AWS Batch array jobs, Lambda fan-out), and the
//! lossless merge of their results.
//!
//! # Which shard am I
//!
//! | variables | shard |
//! |---|---|
//! | `PERF_SHARD=2/8` | 2 of 8 (1-based) |
//! | `PERF_SHARDS=8` and `JOB_COMPLETION_INDEX=1` | 2 of 8 (Kubernetes Indexed Job; the index is 0-based) |
//! | `PERF_SHARDS=8` and `AWS_BATCH_JOB_ARRAY_INDEX=1` | 2 of 8 (AWS Batch array job; 0-based) |
//!
//! Neither Kubernetes nor AWS Batch tells a job how many siblings it has,
//! so `PERF_SHARDS` carries the total; the index variables are only read
//! when it is set.
//!
//! # What a shard runs
//!
//! Its share of the declared load, so that the shards together produce
//! exactly that load ([`Shard::split`]): `repeat` and the workers are
//! divided with the remainder going to the first shards (10 over 4 shards:
//! 3, 3, 2, 2); arrival rates and rate stage targets are divided exactly
//! (`rate / N`); worker stage targets like `repeat`. Each shard keeps at
//! least one worker, so a closed-model test with a `duration` and fewer
//! workers than shards runs more than declared. `repeat` smaller than the
//! number of shards is an error. Warm-up runs on each shard in full (every
//! machine warms its own connections).
//!
//! `PERF_START_AT` (Unix seconds, fractions allowed) makes every shard wait
//! for a common start, so arrival-rate schedules and per-second windows
//! line up; each shard's timeline is placed on the merged one by its actual
//! start, to the nearest second. [`Shard::seed`] gives each shard its own
//! seed for anything random.
//!
//! # Results and merge
//!
//! A shard writes a [`ShardResult`] (every histogram serialised, counts,
//! error classes and first messages, the per-second timeline, memory
//! figures, its identity, the declared load and thresholds) next to its
//! report (`<test>.shard-2-of-8.json`) and, with `PERF_RESULTS`, to that
//! directory or `s3://bucket/prefix/` (feature `s3`). It does not judge the
//! thresholds: [`merge`] adds the histograms (never averaging
//! percentiles), checks that shards 1..N are each there exactly once, and
//! builds the same [`Report`](crate::Report) a single machine would have, on which the
//! thresholds are evaluated once. `perf-report merge` does that from the
//! command line.
pub use crate::distributed::merge::{merge, MergeError, MAX_TIMELINE_SECONDS, START_SLACK};
pub use crate::io::shard_file::{start_at_from_env, MAX_START_WAIT};
pub use crate::model::shard::{
    CustomData, EncodedHistogram, RecordedData, SavedMetric, SavedThreshold, SecondData, Shard,
    ShardResult, TagData, SHARD_FORMAT, SHARD_SCHEMA_VERSION,
};
