//! Thresholds on phases, checked against the stages: `p95 in "peak"`,
//! `mean in "peak" < 1.5 * "baseline"` and `recovery in "peak"` name
//! phases that `stages` has, and a recovery has a limit to recover within.

use perf_spec::{Metric, ThresholdSpec};

use crate::parse::Config;
use crate::parse::Errors;

pub(crate) fn check(config: &Config, errors: &mut Errors) {
    if config.phase_names.is_empty() {
        return;
    }
    let Some(stages) = &config.stages else {
        for name in &config.phase_names {
            errors.at(
                name.span(),
                format!(
                    "phase {:?} is not in the stages: name stages to make phases, e.g. `stages = [(\"baseline\", \"30s\", 100), ({:?}, \"1m\", 1000)]`",
                    name.value(),
                    name.value()
                ),
            );
        }
        return;
    };
    // The stages were checked on their own: their phases are well formed.
    let phases = perf_spec::phases(&stages.value).unwrap_or_default();
    let names: Vec<&str> = phases.iter().map(|p| p.name).collect();
    for name in &config.phase_names {
        let n = name.value();
        if names.contains(&n.as_str()) {
            continue;
        }
        let message = perf_spec::unknown_phase(&n, &names);
        errors.at(name.span(), message);
    }
    for t in &config.thresholds {
        if let Metric::Recovery(p) = t.value.metric {
            if limit_for(&config.thresholds, Metric::Percentile(p), t.value.phase).is_none() {
                errors.at(
                    t.span,
                    format!(
                        "`{}` needs a limit to recover within: add `p{} < \"200ms\"` (or `p{} in {:?} < \"300ms\"`)",
                        t.value.metric,
                        p.value(),
                        p.value(),
                        t.value.phase.unwrap_or_default()
                    ),
                );
            }
        }
    }
}

/// The tightest upper bound on `metric` for `phase`: of that phase, or of
/// the whole run (untagged, unwindowed, absolute).
fn limit_for(
    thresholds: &[crate::parse::Spanned<ThresholdSpec>],
    metric: Metric,
    phase: Option<&str>,
) -> Option<f64> {
    let specs: Vec<ThresholdSpec> = thresholds.iter().map(|t| t.value).collect();
    perf_spec::recovery_limit(&specs, metric, phase)
}
