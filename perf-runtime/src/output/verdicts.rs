//! How a threshold's interval and verdict read in the summary, how a
//! `repeat = "auto"` run stopped, and the leak verdict.

use crate::model::auto::{AutoRun, AutoStopped};
use crate::model::memory::{LeakVerdict, MIN_LEAK_CHECKPOINTS};
use crate::model::threshold::{Decision, Judging, ThresholdOutcome};
use crate::output::summary::d;
use perf_spec::format_rate as rate;

fn point_holds(t: &ThresholdOutcome) -> bool {
    let Some(v) = t.observed else {
        return false;
    };
    match t.op.as_str() {
        "<" => v < t.limit,
        "<=" => v <= t.limit,
        ">" => v > t.limit,
        ">=" => v >= t.limit,
        _ => v == t.limit,
    }
}

pub(crate) fn interval_text(t: &ThresholdOutcome, judging: Judging) -> String {
    let Some(iv) = t.interval else {
        return String::new();
    };
    // Latencies (nanoseconds), rates per second and fractions have
    // intervals.
    // (A custom metric's percentiles are durations; its mean is one when
    // its limit is, which the threshold as written shows by a unit.)
    let custom_duration =
        t.metric.starts_with("mean of") && t.threshold.ends_with(char::is_alphabetic);
    let latency = t.metric == "mean" || t.metric.starts_with('p') || custom_duration;
    let show = |x: f64| {
        if latency {
            d(x.round() as u64)
        } else if t.metric == "throughput" {
            rate(x)
        } else {
            format!("{x:.4}")
        }
    };
    let high = iv
        .high
        .map_or_else(|| "∞)".to_owned(), |h| format!("{}]", show(h)));
    let mut text = format!("  [{}, {high}", show(iv.low));
    if let Some(d) = t.blocks.filter(|d| *d >= 1.05) {
        text.push_str(&format!(
            " (widened: the run's seconds differ more than independent samples would, design effect {d:.1})"
        ));
    }
    if t.decision == Some(Decision::Inconclusive) {
        let point = if point_holds(t) { "passes" } else { "fails" };
        let settle = t.more_iterations.map_or_else(
            || "the value sits on the limit: more iterations will not settle it".to_owned(),
            |n| {
                format!(
                    "~{} more iterations would likely settle it",
                    perf_spec::format_count(n)
                )
            },
        );
        let policy = match judging.inconclusive {
            perf_spec::Inconclusive::Warn => String::new(),
            p => format!(
                " (inconclusive = \"{p}\": the test {})",
                if t.passed { "passes" } else { "fails" }
            ),
        };
        text.push_str(&format!(
            "  inconclusive at {}{policy}: the value {point}, the limit is inside the interval; {settle}",
            percent(iv.confidence)
        ));
    }
    text
}

/// The leak verdict in the summary's memory line.
pub(crate) fn leak_text(leak: &LeakVerdict) -> String {
    let size = perf_spec::format_size(leak.bytes_per_iter);
    if leak.detected {
        format!("LEAK of {size}/iteration")
    } else if leak.inconclusive {
        format!(
            "leak unknown ({} checkpoints after warm-up, {MIN_LEAK_CHECKPOINTS} needed)",
            leak.checkpoints
        )
    } else {
        format!("no leak ({size}/iteration, R² {:.2})", leak.r_squared)
    }
}

/// A confidence level as a percentage, to the digits it has: `95%`,
/// `99.58%`.
pub(crate) fn percent(confidence: f64) -> String {
    let text = format!("{:.2}", confidence * 100.0);
    let text = text.trim_end_matches('0').trim_end_matches('.');
    format!("{text}%")
}

/// `repeat = "auto"`: how many iterations and looks it took, why it
/// stopped, and the confidence its verdicts are at.
pub(crate) fn auto_line(auto: &AutoRun, nominal: f64) -> String {
    let iterations = auto.looks.last().map_or(0, |l| l.iterations);
    let looks = match auto.looks.len() {
        1 => "1 look".to_owned(),
        n => format!("{n} looks"),
    };
    let why = match auto.stopped {
        AutoStopped::Conclusive => format!(
            "stopped when every threshold was conclusive, at look {} ({} iterations)",
            auto.looks.len(),
            perf_spec::format_count(iterations)
        ),
        AutoStopped::MaxRepeat => format!(
            "reached max_repeat = {} after {looks} without settling every threshold",
            perf_spec::format_count(auto.max_repeat)
        ),
        AutoStopped::Duration => {
            format!("reached its duration after {looks} without settling every threshold")
        }
        AutoStopped::Ended => format!("ended after {looks} before settling"),
    };
    format!(
        "repeat = \"auto\": {why}; verdicts at {} (each look spends a share of the {} level's {})",
        percent(auto.confidence),
        percent(nominal),
        percent(1.0 - nominal)
    )
}
