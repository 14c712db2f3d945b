//! A threshold's observed value for people: to as many digits as it takes
//! to tell it from its limit, with the counts behind a rate, and why a
//! custom metric has no value in the limit's unit.

use std::time::Duration;

use perf_spec::{format_duration, Metric, MetricKind};

use crate::judge::figures::Figures;

/// Why a custom metric has no value for this threshold: it was never
/// recorded (with the names that were), or in another unit.
pub(crate) fn custom_mismatch(metric: Metric, f: &Figures<'_>) -> Option<String> {
    let Metric::Custom { name, duration, .. } = metric else {
        return None;
    };
    let recorded = f.custom?;
    let Some(c) = recorded.get(name) else {
        return Some(not_recorded(name, recorded.keys().map(String::as_str)));
    };
    Some(match (duration, c.kind.as_str()) {
        (true, kind) if kind != "duration" => {
            format!("`{name}` records {kind}s: give the limit as a number")
        }
        (false, "duration") => {
            format!("`{name}` records durations: give the limit as a duration")
        }
        _ => "no data".to_owned(),
    })
}

/// "No data" for a custom metric the run never recorded, with the names
/// it did record (and the nearest, when one is close: a typo).
fn not_recorded<'a>(name: &str, recorded: impl Iterator<Item = &'a str>) -> String {
    // The framework's own (checks) are not what a threshold on a custom
    // metric is likely to mean.
    let names: Vec<&str> = recorded
        .filter(|n| !n.starts_with(perf_spec::CHECK_PREFIX) && *n != perf_spec::CHECKS_METRIC)
        .collect();
    if names.is_empty() {
        return format!(
            "no data: nothing was recorded as `{name}` (the run recorded no custom metric)"
        );
    }
    let near = perf_spec::closest(name, &names)
        .map(|c| format!("; did you mean `{c}`?"))
        .unwrap_or_default();
    const SHOWN: usize = 12;
    let mut list = names
        .iter()
        .take(SHOWN)
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(", ");
    if names.len() > SHOWN {
        list.push_str(&format!(" and {} more", names.len() - SHOWN));
    }
    format!("no data: nothing was recorded as `{name}`{near} (recorded: {list})")
}

pub(crate) fn display(metric: Metric, v: f64, limit: f64, f: &Figures<'_>) -> String {
    let value = precise(metric.kind(), metric, v, limit);
    match (metric, metric.kind()) {
        (Metric::Cpu(_), _) => crate::judge::resources::display(metric, v, limit, f),
        (Metric::ClassRate(class), _) => {
            let failed = f.classes.and_then(|c| c.get(class)).copied().unwrap_or(0);
            format!("{value} ({failed} of {})", f.iterations)
        }
        (Metric::Checks(_), _) => {
            let (passed, count) = crate::judge::threshold::checks(metric, f).unwrap_or_default();
            format!("{value} ({passed} of {count} passed)")
        }
        (Metric::DroppedRate, _) => {
            format!("{value} ({} of {})", f.dropped, f.iterations + f.dropped)
        }
        (_, MetricKind::Fraction) => format!("{value} ({} of {})", f.errors, f.iterations),
        _ => value,
    }
}

/// `v` with as many digits as it takes not to read as `limit` when it is
/// not (`64.03 B` against a limit of 64 B, not `64 B`), so that a verdict
/// never contradicts the figure shown beside it.
pub(crate) fn precise(kind: MetricKind, metric: Metric, v: f64, limit: f64) -> String {
    let show = |x: f64, extra: usize| -> String {
        match kind {
            MetricKind::Latency if extra == 0 => {
                format_duration(Duration::from_nanos(x.round() as u64))
            }
            MetricKind::Latency => {
                let (scale, unit) = if x < 1e3 {
                    (1.0, "ns")
                } else if x < 1e6 {
                    (1e3, "µs")
                } else if x < 1e9 {
                    (1e6, "ms")
                } else {
                    (1e9, "s")
                };
                format!("{:.extra$}{unit}", x / scale)
            }
            MetricKind::PerSecond if extra == 0 => perf_spec::format_rate(x),
            MetricKind::PerSecond => format!("{x:.extra$}/s"),
            MetricKind::Bytes => perf_spec::format_size_digits(x, extra),
            _ if metric == Metric::AllocsPerIter => format!("{x:.prec$}", prec = 2 + extra),
            MetricKind::Count => format!("{x}"),
            _ => format!("{x:.prec$}", prec = 4 + extra),
        }
    };
    let mut text = show(v, 0);
    if v == limit || !v.is_finite() || !limit.is_finite() {
        return text;
    }
    for extra in 1..=6 {
        if text != show(limit, extra - 1) {
            break;
        }
        text = show(v, extra);
    }
    text
}
