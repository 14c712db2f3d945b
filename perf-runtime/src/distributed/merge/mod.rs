//! The merge of shard results: each checked (counts that cannot be,
//! shards outside their total, a clock that is off), all checked against
//! each other (one test, one declared load), then added into the report a
//! single machine would have produced.

use std::time::{Duration, UNIX_EPOCH};

use crate::model::load::{LoadShape, MAX_BATCH};
use crate::model::measured::{latencies, Batching, Measured, Recorded};
use crate::model::memory::{LeakVerdict, MemoryStats};
use crate::model::report::{Report, WarmupStats};
use crate::model::resources::Resources;
use crate::model::runs::RunFigures;
use crate::model::shard::{SavedThreshold, Shard, ShardResult};

/// Why shard results could not be merged.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum MergeError {
    /// Nothing to merge.
    #[error("no shard results to merge")]
    Empty,
    /// Results of different tests.
    #[error("shard results of different tests: {first} and {other} ({source_name})")]
    MixedTests {
        /// The first test's name.
        first: String,
        /// The other's.
        other: String,
        /// Where the other came from.
        source_name: String,
    },
    /// Shards disagree on the total.
    #[error("{source_name} is shard {shard} but another result says there are {total} shards")]
    MixedTotals {
        /// The odd one.
        shard: Shard,
        /// The total seen first.
        total: u32,
        /// Where the odd one came from.
        source_name: String,
    },
    /// A shard came twice.
    #[error("shard {shard} of {test} is there twice: {first} and {second}")]
    Duplicate {
        /// The test.
        test: String,
        /// The shard.
        shard: Shard,
        /// One copy.
        first: String,
        /// The other.
        second: String,
    },
    /// Shards are missing.
    #[error("{test}: shard(s) {} of {total} missing (have {have}); no verdict on a partial result", missing.iter().map(u32::to_string).collect::<Vec<_>>().join(", "))]
    Missing {
        /// The test.
        test: String,
        /// The missing indexes.
        missing: Vec<u32>,
        /// The total.
        total: u32,
        /// How many are there.
        have: usize,
    },
    /// A result's data does not decode.
    #[error("{0}")]
    Corrupt(String),
    /// A result disagrees with itself or with the other shards.
    #[error("{source_name}: `{field}` {reason}")]
    Inconsistent {
        /// Where the odd result came from.
        source_name: String,
        /// The field at fault.
        field: &'static str,
        /// What is wrong with it.
        reason: String,
    },
}

/// How far apart shard starts may be beyond the run's own length: shards
/// share a `PERF_START_AT`, so they start within a second or two of each
/// other; a minute leaves room for a slow scheduler and rules out a clock
/// that is off by hours or a start field of 0.
pub const START_SLACK: Duration = Duration::from_secs(60);

/// The longest timeline a merge accepts, in seconds (24 hours): each second
/// holds a histogram of its own (a few KiB), so a longer one is either a
/// forged file or a run better split into several.
pub const MAX_TIMELINE_SECONDS: usize = 86_400;

/// Checks one result on its own: its shard, its counts, its timeline.
fn check_result(r: &ShardResult) -> Result<(), MergeError> {
    let bad = |field: &'static str, reason: String| MergeError::Inconsistent {
        source_name: r.name_for_errors(),
        field,
        reason,
    };
    Shard::new(r.shard.index, r.shard.total).map_err(|e| bad("shard", e))?;
    let d = &r.data;
    let figure = |(field, reason): (String, String)| {
        MergeError::Corrupt(format!("{}: `{field}` {reason}", r.name_for_errors()))
    };
    d.check_figures().map_err(figure)?;
    if let Some(res) = &r.resources {
        res.check_figures("resources").map_err(figure)?;
    }
    if d.errors > d.iterations {
        return Err(bad(
            "errors",
            format!("is {} but only {} iterations ran", d.errors, d.iterations),
        ));
    }
    if d.timeouts.saturating_add(d.panics) > d.errors {
        return Err(bad(
            "timeouts",
            format!(
                "{} timeouts and {} panics are more than the {} errors",
                d.timeouts, d.panics, d.errors
            ),
        ));
    }
    if let Some(b) = &r.batching {
        if !(b.clock_ns.is_finite() && b.clock_ns >= 0.0) {
            return Err(bad(
                "batching.clock_ns",
                format!("is {}, not a duration", b.clock_ns),
            ));
        }
        if b.batched_iterations > d.iterations || b.iterations_per_sample > MAX_BATCH {
            return Err(bad(
                "batching",
                format!(
                    "{} batched iterations of up to {} per sample, but {} iterations ran (at most {} per sample)",
                    b.batched_iterations,
                    b.iterations_per_sample,
                    d.iterations,
                    MAX_BATCH
                ),
            ));
        }
    }
    if r.elapsed_ns > MAX_TIMELINE_SECONDS as u64 * 1_000_000_000 {
        return Err(bad(
            "elapsed_ns",
            format!("is {}, over the limit of 24 h", r.elapsed_ns),
        ));
    }
    if d.timeline.len() > MAX_TIMELINE_SECONDS {
        return Err(bad(
            "timeline",
            format!(
                "has {} seconds, over the limit of {MAX_TIMELINE_SECONDS} (24 h)",
                d.timeline.len()
            ),
        ));
    }
    let (in_seconds, errors_in_seconds) = d.timeline.iter().fold((0u64, 0u64), |(i, e), s| {
        (i.saturating_add(s.iterations), e.saturating_add(s.errors))
    });
    if in_seconds > d.iterations || errors_in_seconds > d.errors {
        return Err(bad(
            "timeline",
            format!(
                "counts {in_seconds} iterations ({errors_in_seconds} failed) but the shard ran {} ({} failed)",
                d.iterations, d.errors
            ),
        ));
    }
    Ok(())
}

/// Every shard must be a part of the same test: the same declared load,
/// thresholds and after-run settings as the first.
fn check_same_test(first: &ShardResult, r: &ShardResult) -> Result<(), MergeError> {
    let bad = |field: &'static str, what: String| MergeError::Inconsistent {
        source_name: r.name_for_errors(),
        field,
        reason: format!(
            "differs from {}'s ({what}): the shards come from different versions of the test",
            first.name_for_errors()
        ),
    };
    let load = |l: &LoadShape| {
        let mut l = l.clone();
        l.overrides.clear();
        l.shard = None;
        l
    };
    if load(&first.declared) != load(&r.declared) {
        return Err(bad(
            "declared",
            format!("{:?} against {:?}", r.declared, first.declared),
        ));
    }
    if first.thresholds != r.thresholds {
        let text = |t: &[SavedThreshold]| {
            t.iter()
                .map(|t| t.text.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        };
        return Err(bad(
            "thresholds",
            format!(
                "[{}] against [{}]",
                text(&r.thresholds),
                text(&first.thresholds)
            ),
        ));
    }
    if first.after != r.after {
        return Err(bad("after", "baseline or publishing settings".into()));
    }
    Ok(())
}

/// Shard starts may differ by the run's length plus [`START_SLACK`] at most.
fn check_starts(results: &[ShardResult]) -> Result<(), MergeError> {
    let longest = results.iter().map(|r| r.elapsed_ns).max().unwrap_or(0);
    let allowed = longest.saturating_add(START_SLACK.as_nanos() as u64);
    // The shard furthest from the median start is the odd one.
    let mut starts: Vec<u64> = results.iter().map(|r| r.started_at_unix_ns).collect();
    starts.sort_unstable();
    let median = starts[starts.len() / 2];
    for r in results {
        let off = r.started_at_unix_ns.abs_diff(median);
        if off > allowed {
            return Err(MergeError::Inconsistent {
                source_name: r.name_for_errors(),
                field: "started_at_unix_ns",
                reason: format!(
                    "is {} from the other shards' start, more than the run's length ({}) plus {} of slack: \
                     its clock is off, or it belongs to another run",
                    perf_spec::format_duration(Duration::from_nanos(off)),
                    perf_spec::format_duration(Duration::from_nanos(longest)),
                    perf_spec::format_duration(START_SLACK)
                ),
            });
        }
    }
    Ok(())
}

/// Merges the results of every shard of one test into the report a
/// single machine would have produced (see the [module docs](crate::shard)).
pub fn merge(mut results: Vec<ShardResult>) -> Result<Report, MergeError> {
    let first = results.first().ok_or(MergeError::Empty)?;
    let (name, total) = (first.name.clone(), first.shard.total);
    for r in &results {
        check_result(r)?;
        if r.name != name {
            return Err(MergeError::MixedTests {
                first: name,
                other: r.name.clone(),
                source_name: r.name_for_errors(),
            });
        }
        if r.shard.total != total {
            return Err(MergeError::MixedTotals {
                shard: r.shard,
                total,
                source_name: r.name_for_errors(),
            });
        }
    }
    results.sort_by_key(|r| r.shard.index);
    for pair in results.windows(2) {
        if pair[0].shard.index == pair[1].shard.index {
            return Err(MergeError::Duplicate {
                test: name,
                shard: pair[0].shard,
                first: pair[0].name_for_errors(),
                second: pair[1].name_for_errors(),
            });
        }
    }
    let missing: Vec<u32> = (1..=total)
        .filter(|i| !results.iter().any(|r| r.shard.index == *i))
        .collect();
    if !missing.is_empty() {
        return Err(MergeError::Missing {
            test: name,
            missing,
            total,
            have: results.len(),
        });
    }
    for r in &results[1..] {
        check_same_test(&results[0], r)?;
    }
    check_starts(&results)?;
    let corrupt =
        |r: &ShardResult, e: String| MergeError::Corrupt(format!("{}: {e}", r.name_for_errors()));
    let thresholds = results[0]
        .thresholds
        .iter()
        .map(SavedThreshold::load)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| corrupt(&results[0], e))?;

    let start = results
        .iter()
        .map(|r| r.started_at_unix_ns)
        .min()
        .unwrap_or(0);
    let end = results
        .iter()
        .map(|r| r.started_at_unix_ns.saturating_add(r.elapsed_ns))
        .max()
        .unwrap_or(0);
    let mut merged = Recorded::empty(results.iter().any(|r| r.data.service.is_some()));
    for r in &results {
        let offset = ((r.started_at_unix_ns - start) as f64 / 1e9).round() as u32;
        merged
            .add_data(&r.data, offset)
            .map_err(|e| corrupt(r, e))?;
    }
    merged.finish_merge();
    let warmups: Vec<(&ShardResult, &WarmupStats)> = results
        .iter()
        .filter_map(|r| r.warmup.as_ref().map(|w| (r, w)))
        .collect();
    let warmup = if warmups.is_empty() {
        None
    } else {
        let mut w = Recorded::empty(false);
        w.iterations = checked_total(
            "warmup.iterations",
            warmups.iter().map(|(r, w)| (*r, w.iterations)),
        )?;
        w.errors = checked_total("warmup.errors", warmups.iter().map(|(r, w)| (*r, w.errors)))?;
        Some(w)
    };
    let unscheduled = checked_total("unscheduled", results.iter().map(|r| (r, r.unscheduled)))?;
    let memory = merge_memory(&results, merged.iterations);
    // Every shard's, or none: a fleet figure missing a generator would
    // understate it.
    let resources = results
        .iter()
        .map(|r| {
            let offset = (r.started_at_unix_ns - start) as f64 / 1e9;
            r.resources.as_ref().map(|res| (offset, res))
        })
        .collect::<Option<Vec<_>>>()
        .and_then(|parts| Resources::merge_shards(&parts));
    let measured = Measured {
        warmup,
        timed_out: results.iter().any(|r| r.timed_out),
        interrupted: results.iter().any(|r| r.interrupted),
        aborted: results.iter().find_map(|r| {
            r.aborted
                .as_ref()
                .map(|a| format!("shard {}: {a}", r.shard))
        }),
        memory,
        resources,
        unscheduled,
        batching: results
            .iter()
            .filter_map(|r| r.batching)
            .reduce(Batching::combine),
        ..Measured::of(
            merged,
            UNIX_EPOCH + Duration::from_nanos(start),
            Duration::from_nanos(end - start),
        )
    };
    let mut load = results[0].declared.clone();
    load.overrides.push(format!("{total} shards"));
    // Each shard is an independent measurement of its part of the load on
    // a machine of its own: their spread is the noise a baseline gate
    // tests the merged run against, as a single machine's runs are.
    let runs = if results.len() >= 2 {
        results
            .iter()
            .map(|r| {
                Ok(RunFigures {
                    iterations: r.data.iterations,
                    errors: r.data.errors,
                    elapsed_ns: r.elapsed_ns,
                    histogram: latencies(&r.data.histogram).map_err(|e| corrupt(r, e))?,
                })
            })
            .collect::<Result<Vec<_>, MergeError>>()?
    } else {
        Vec::new()
    };
    let mut report = Report::build(
        name,
        load,
        measured,
        &thresholds,
        results.iter().any(|r| r.debug_build),
        results[0].judging,
        None,
    );
    report.runs = runs;
    Ok(report)
}

/// The shards' counts of `what` added up, or the file whose count makes
/// the sum wrap refused.
fn checked_total<'a>(
    what: &str,
    counts: impl Iterator<Item = (&'a ShardResult, u64)>,
) -> Result<u64, MergeError> {
    let mut total = 0u64;
    for (r, n) in counts {
        total = total.checked_add(n).ok_or_else(|| {
            MergeError::Corrupt(format!(
                "{}: `{what}` adds up to more than {}",
                r.name_for_errors(),
                u64::MAX
            ))
        })?;
    }
    Ok(total)
}

/// Memory figures of all shards: allocation counts add up, per-iteration
/// figures are recomputed over all iterations, the peak is the largest
/// shard's (each shard is a process of its own), a leak in any shard
/// is a leak, and otherwise a shard that could not tell makes the verdict
/// inconclusive.
fn merge_memory(results: &[ShardResult], iterations: u64) -> Option<MemoryStats> {
    let all: Vec<&MemoryStats> = results.iter().filter_map(|r| r.memory.as_ref()).collect();
    if all.len() != results.len() {
        return None;
    }
    let sum = |f: fn(&MemoryStats) -> u64| all.iter().map(|m| f(m)).sum::<u64>();
    let allocations = sum(|m| m.allocations);
    let bytes_allocated = sum(|m| m.bytes_allocated);
    let per_iter = |n: u64| {
        if iterations == 0 {
            0.0
        } else {
            n as f64 / iterations as f64
        }
    };
    let worst = all
        .iter()
        .max_by(|a, b| a.leak.bytes_per_iter.total_cmp(&b.leak.bytes_per_iter))?;
    Some(MemoryStats {
        allocations,
        deallocations: sum(|m| m.deallocations),
        bytes_allocated,
        allocs_per_iter: per_iter(allocations),
        bytes_per_iter: per_iter(bytes_allocated),
        peak_live_bytes: all.iter().map(|m| m.peak_live_bytes).max().unwrap_or(0),
        live_bytes_at_end: all.iter().map(|m| m.live_bytes_at_end).sum(),
        leak: {
            let detected = all.iter().any(|m| m.leak.detected);
            LeakVerdict {
                detected,
                // A shard that could not tell leaves the whole unknown,
                // unless another one found a leak.
                inconclusive: !detected && all.iter().any(|m| m.leak.inconclusive),
                ..worst.leak.clone()
            }
        },
    })
}

#[cfg(test)]
pub(crate) mod tests;
