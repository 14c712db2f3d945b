//! The verdict of a run, computed once: figures and threshold outcomes
//! from what was measured ([`Report::build`]), then [`settle`] decides
//! `passed` from the thresholds, the baseline comparison and the run's
//! role (a shard defers its thresholds to the merge). Nothing else
//! assigns `Report::passed`.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, UNIX_EPOCH};

use hdrhistogram::Histogram;

use crate::judge::figures::Figures;
use crate::model::load::LoadShape;
use crate::model::measured::{Measured, Recorded};
use crate::model::report::{
    CustomStats, LatencyStats, Report, TagStats, WarmupStats, REPORT_SCHEMA_VERSION,
};
use crate::model::shard::Shard;
use crate::model::threshold::{Threshold, ThresholdOutcome};

/// Percentiles every report lists, besides those thresholds ask for.
const STANDARD_PERCENTILES: [f64; 6] = [50.0, 75.0, 90.0, 95.0, 99.0, 99.9];

impl Report {
    pub(crate) fn build(
        name: String,
        load: LoadShape,
        m: Measured,
        thresholds: &[Threshold],
        debug_build: bool,
        path: Option<PathBuf>,
        shard: Option<Shard>,
    ) -> Report {
        let main = m.main;
        let mut wanted: Vec<f64> = STANDARD_PERCENTILES.to_vec();
        for t in thresholds {
            match t.metric() {
                perf_spec::Metric::Percentile(p)
                | perf_spec::Metric::Custom {
                    stat: perf_spec::Stat::Percentile(p),
                    ..
                } => wanted.push(p.value()),
                _ => {}
            }
        }
        wanted.sort_by(f64::total_cmp);
        wanted.dedup();
        let secs = m.elapsed.as_secs_f64();
        let scheduled = main.iterations + main.dropped;
        let custom: BTreeMap<String, CustomStats> = main
            .custom
            .iter()
            .map(|(name, c)| (name.clone(), CustomStats::of(c, &wanted)))
            .collect();
        let whole = Figures {
            memory: m.memory.as_ref(),
            classes: Some(&main.classes),
            custom: Some(&custom),
            iterations: main.iterations,
            errors: main.errors,
            dropped: main.dropped,
            seconds: secs,
            latency: &main.histogram,
        };
        // Windows only cover seconds that ended before the run did.
        let complete = m.elapsed.as_secs() as u32;
        let tag_figures = |tag: &str| {
            main.tags
                .get(tag)
                .map(|t| Figures::tagged(&t.latency, t.errors, secs))
        };
        let mut outcomes: Vec<ThresholdOutcome> = thresholds
            .iter()
            .map(|t| match t.tag() {
                // A tag never seen has no data: the threshold fails.
                Some(tag) => t.evaluate(
                    &tag_figures(tag).unwrap_or_else(|| Figures::empty()),
                    &Default::default(),
                    0,
                ),
                None => t.evaluate(&whole, &main.timeline, complete),
            })
            .collect();
        let declared = |m: &[perf_spec::Metric]| thresholds.iter().any(|t| m.contains(&t.metric()));
        let mut defaults = Vec::new();
        if !declared(&[perf_spec::Metric::ErrorRate]) {
            defaults.push(Threshold::default_error_rate());
        }
        if load.is_open()
            && !declared(&[perf_spec::Metric::Dropped, perf_spec::Metric::DroppedRate])
        {
            defaults.push(Threshold::default_dropped_rate());
        }
        for t in defaults {
            let mut implicit = t.evaluate(&whole, &main.timeline, complete);
            implicit.default = true;
            outcomes.push(implicit);
        }
        let tags = main
            .tags
            .iter()
            .map(|(tag, t)| {
                let iterations = t.latency.len();
                let stats = TagStats {
                    iterations,
                    errors: t.errors,
                    error_rate: if iterations == 0 {
                        0.0
                    } else {
                        t.errors as f64 / iterations as f64
                    },
                    latency: LatencyStats::of(&t.latency, &wanted),
                };
                (tag.clone(), stats)
            })
            .collect();
        let tag_histograms = main
            .tags
            .into_iter()
            .map(|(tag, t)| (tag, t.latency))
            .collect();
        let mut report = Report {
            schema_version: REPORT_SCHEMA_VERSION,
            name,
            load,
            started_at_unix_ms: m
                .started_at
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_millis() as u64),
            elapsed_ns: m.elapsed.as_nanos() as u64,
            iterations: main.iterations,
            errors: main.errors,
            timeouts: main.timeouts,
            panics: main.panics,
            saturated: main.saturated,
            dropped: main.dropped,
            error_rate: if main.iterations == 0 {
                0.0
            } else {
                main.errors as f64 / main.iterations as f64
            },
            dropped_rate: if scheduled == 0 {
                0.0
            } else {
                main.dropped as f64 / scheduled as f64
            },
            throughput: if secs > 0.0 {
                main.iterations as f64 / secs
            } else {
                0.0
            },
            latency: LatencyStats::of(&main.histogram, &wanted),
            service: main.service.as_ref().map(|h| LatencyStats::of(h, &wanted)),
            error_counts: main.error_counts,
            first_errors: main.first_errors,
            warmup: m.warmup.map(|w| WarmupStats {
                iterations: w.iterations,
                errors: w.errors,
            }),
            thresholds: outcomes,
            error_classes: main.classes,
            tags,
            custom,
            tag_histograms,
            memory: m.memory,
            baseline: None,
            timeline: main.timeline.points(),
            timed_out: m.timed_out,
            aborted: m.aborted,
            interrupted: m.interrupted,
            still_running: m.stopped,
            unscheduled: m.unscheduled,
            skipped: None,
            debug_build,
            passed: false,
            histogram: main.histogram,
            path,
            shard,
            shard_result: None,
        };
        settle(&mut report);
        report
    }

    /// A report built from recorded data rather than a run: a latency
    /// histogram (every iteration, failed ones included), how many failed,
    /// and how long the run took. For tools and tests that need reports
    /// with known contents.
    pub fn from_parts(
        name: impl Into<String>,
        histogram: Histogram<u64>,
        errors: u64,
        elapsed: Duration,
    ) -> Report {
        let mut timeline = crate::model::timeline::Timeline::default();
        let mut second = crate::model::timeline::Second::new();
        second.add_histogram(&histogram);
        second.iterations = histogram.len();
        second.errors = errors;
        timeline.add(0, &second);
        let recorded = Recorded {
            iterations: histogram.len(),
            errors,
            timeline,
            histogram,
            ..Recorded::empty(false)
        };
        let measured = Measured::of(recorded, UNIX_EPOCH, elapsed);
        let load = LoadShape {
            stop: crate::model::load::Stop::Repeat(measured.main.iterations.max(1)),
            ..LoadShape::default()
        };
        Report::build(name.into(), load, measured, &[], false, None, None)
    }
}

/// Decides `report.passed`, the one place that does: the run ended on its
/// own (no timeout, signal or abort), every threshold held (a shard's
/// thresholds are judged on the merged result, so a shard defers them),
/// and the baseline comparison found no regression beyond its budget nor,
/// when a baseline is required, a missing one.
pub(crate) fn settle(report: &mut Report) {
    report.passed = verdict(report);
}

fn verdict(r: &Report) -> bool {
    let ran_out = !r.timed_out && !r.interrupted && r.aborted.is_none();
    let thresholds = r.shard.is_some() || r.thresholds.iter().all(|t| t.passed);
    let baseline = r.baseline.as_ref().is_none_or(|b| b.holds());
    ran_out && thresholds && baseline
}
