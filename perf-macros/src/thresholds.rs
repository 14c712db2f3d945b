//! Thresholds and regression budgets as written: `p95 < "200ms"`,
//! `p(99.9) <= "1s" per "10s"`, `p95 regression < "10%"`.

use perf_spec::{
    check_fraction, closest, parse_fraction, parse_rate, parse_size, Metric, MetricKind, Op,
    Percentile, Stat, ThresholdSpec, METRIC_NAMES,
};
use proc_macro2::Span;
use syn::{Lit, LitStr};

use crate::parse::{Errors, MetricTok, Phased, Spanned, KEYS, METRIC_RENAMED};
use crate::values::{duration_lit, is_number, number, positive_duration};

pub(crate) fn regression(
    tok: Option<&MetricTok>,
    span: Span,
    op: Spanned<Op>,
    value: &Lit,
    errors: &mut Errors,
) -> Option<Spanned<(Option<Metric>, f64)>> {
    let metric = match tok {
        None => None,
        Some(t) => {
            let m = metric(t, errors)?;
            if !matches!(m, Metric::Mean | Metric::Percentile(_) | Metric::ErrorRate) {
                errors.at(
                    t.span(),
                    format!("`{m} regression` is not compared with baselines: use mean, a percentile or error_rate"),
                );
                return None;
            }
            Some(m)
        }
    };
    if !op.value.is_upper_bound() || op.value == Op::Eq {
        errors.at(
            op.span,
            "a regression budget is an upper bound: `regression < \"10%\"`",
        );
        return None;
    }
    let budget = match value {
        Lit::Str(s) => match s
            .value()
            .trim()
            .strip_suffix('%')
            .map(|p| p.trim().parse::<f64>())
        {
            Some(Ok(p)) if p >= 0.0 && p.is_finite() => p / 100.0,
            _ => {
                errors.at(
                    s.span(),
                    "a regression budget is a percentage such as \"10%\"",
                );
                return None;
            }
        },
        Lit::Float(_) | Lit::Int(_) => match number(value, errors) {
            Some(f) if f >= 0.0 => f,
            // Already reported (not a finite number).
            None => return None,
            Some(_) => {
                errors.at(value.span(), "a regression budget is a non-negative fraction (0.1) or a percentage (\"10%\")");
                return None;
            }
        },
        other => {
            errors.at(
                other.span(),
                "a regression budget is a percentage such as \"10%\"",
            );
            return None;
        }
    };
    Some(Spanned {
        value: (metric, budget),
        span,
    })
}

fn metric(tok: &MetricTok, errors: &mut Errors) -> Option<Metric> {
    match tok {
        MetricTok::Name(name) => {
            let n = name.to_string();
            // `throttle_rate`: the rate of error class `throttle`, unless it
            // looks like a misspelt built-in rate.
            if let Some(class) = n.strip_suffix("_rate").filter(|c| !c.is_empty()) {
                if Metric::from_name(&n).is_none() {
                    if let Some(near) = closest(&n, &["error_rate", "dropped_rate"]) {
                        errors.at(
                            name.span(),
                            format!(
                                "`{n}` reads as the rate of an error class `{class}`; did you mean `{near}`? \
                                 (to target a class this close to it, rename the class)"
                            ),
                        );
                        return None;
                    }
                    return Some(Metric::ClassRate(Box::leak(
                        class.to_owned().into_boxed_str(),
                    )));
                }
            }
            Metric::from_name(&n).or_else(|| {
                let renamed = METRIC_RENAMED.iter().find(|(old, _)| *old == n);
                let message = if let Some((_, ours)) = renamed {
                    format!("unknown metric `{n}`; did you mean `{ours}`?")
                } else if KEYS.contains(&n.as_str()) {
                    format!("`{n}` is a setting, not a threshold: write `{n} = ...`")
                } else {
                    let hint = closest(&n, METRIC_NAMES)
                        .map(|c| format!(" did you mean `{c}`?"))
                        .unwrap_or_default();
                    format!(
                        "unknown metric `{n}`;{hint} metrics: {}, p(N)",
                        METRIC_NAMES.join(", ")
                    )
                };
                errors.at(name.span(), message);
                None
            })
        }
        MetricTok::Percentile { p, value } => {
            if p != "p" {
                errors.at(
                    p.span(),
                    format!("unknown metric `{p}(...)`; a percentile is written `p(99.9)`"),
                );
                return None;
            }
            let Some(v) = number(value, errors) else {
                if !is_number(value) {
                    errors.at(value.span(), "a percentile is a number, e.g. `p(99.9)`");
                }
                return None;
            };
            match Percentile::new(v) {
                Ok(p) => Some(Metric::Percentile(p)),
                Err(message) => {
                    errors.at(value.span(), message);
                    None
                }
            }
        }
    }
}

/// The statistic before `of "name"`: `mean`, `min`, `max`, `sum`, `count`
/// or a percentile.
fn custom(tok: &MetricTok, of: &LitStr, value: &Lit, errors: &mut Errors) -> Option<Metric> {
    let stat = match tok {
        MetricTok::Name(name) => {
            let n = name.to_string();
            let Some(stat) = Stat::from_name(&n) else {
                errors.at(
                    name.span(),
                    format!("`{n} of` is not a statistic of a custom metric: use mean, min, max, sum, count or a percentile (p95, p(99.9))"),
                );
                return None;
            };
            stat
        }
        MetricTok::Percentile { .. } => match metric(tok, errors)? {
            Metric::Percentile(p) => Stat::Percentile(p),
            _ => return None,
        },
    };
    let name = of.value();
    if name.trim().is_empty() {
        errors.at(
            of.span(),
            "a custom metric has a name, e.g. `mean of \"consumed_rcu\" < 1.0`",
        );
        return None;
    }
    Some(Metric::Custom {
        name: Box::leak(name.into_boxed_str()),
        stat,
        // Counts are numbers; otherwise a string limit is a duration.
        duration: stat != Stat::Count && matches!(value, Lit::Str(_)),
    })
}

#[allow(clippy::too_many_arguments)]
pub(crate) fn threshold(
    tok: &MetricTok,
    of: Option<&LitStr>,
    tag: Option<&LitStr>,
    op: Spanned<Op>,
    value: &Lit,
    window: Option<&LitStr>,
    phased: Option<&Phased>,
    errors: &mut Errors,
) -> Option<Spanned<ThresholdSpec>> {
    let span = tok.span();
    let leak = |s: &LitStr| &*Box::leak(s.value().into_boxed_str());
    let (phase, relative_to) = match phased {
        Some(p) => (Some(leak(&p.phase)), p.relative_to.as_ref().map(leak)),
        None => (None, None),
    };
    let recovery_of = match phased.and_then(|p| p.recovery_of.as_ref()) {
        Some(t) => match metric(t, errors)? {
            Metric::Percentile(p) => Some(p),
            other => {
                errors.at(
                    t.span(),
                    format!("`recovery of {other}`: a phase recovers on a latency percentile, e.g. `recovery of p99`"),
                );
                return None;
            }
        },
        None => None,
    };
    let metric = match of {
        Some(of) => match tok {
            MetricTok::Name(n) if n == "cpu" || n == "peak_rss" => {
                let process = of.value();
                if process.trim().is_empty() {
                    errors.at(
                        of.span(),
                        format!("`{n} of` needs a monitored process's name, e.g. `{n} of \"orders-fn\"`"),
                    );
                    return None;
                }
                let process: &'static str = Box::leak(process.into_boxed_str());
                if n == "cpu" {
                    Metric::Cpu(Some(process))
                } else {
                    Metric::PeakRss(Some(process))
                }
            }
            MetricTok::Name(n) if n == "check" || n == "checks" => {
                let name = of.value();
                if name.trim().is_empty() {
                    errors.at(
                        of.span(),
                        "a check has a name, e.g. `check \"status is 200\" > 0.99`",
                    );
                    return None;
                }
                Metric::Checks(Some(Box::leak(name.into_boxed_str())))
            }
            _ => custom(tok, of, value, errors)?,
        },
        None if matches!(tok, MetricTok::Name(n) if n == "check") => {
            errors.at(
                tok.span(),
                "`check` needs the check's name: `check \"status is 200\" > 0.99` (all checks: `checks > 0.99`)",
            );
            return None;
        }
        None => match (metric(tok, errors)?, recovery_of) {
            (Metric::Recovery(_), Some(p)) => Metric::Recovery(p),
            (m, _) => m,
        },
    };
    if let Err(message) = metric.check_op(op.value) {
        errors.at(op.span, message);
        return None;
    }
    let limit = match metric.kind() {
        // `1.5 * "baseline"`: a factor.
        _ if relative_to.is_some() => match number(value, errors) {
            Some(n) => n,
            None if is_number(value) => return None,
            None => {
                errors.at(
                    value.span(),
                    format!("a relative limit is a factor: `{metric} in \"peak\" {} 1.5 * \"baseline\"`", op.value),
                );
                return None;
            }
        },
        MetricKind::Latency => duration_lit(value, &metric.to_string(), errors)?.as_nanos() as f64,
        MetricKind::Fraction | MetricKind::PassRate => {
            let parsed = match value {
                Lit::Str(s) => parse_fraction(&s.value()),
                Lit::Int(_) | Lit::Float(_) => check_fraction(number(value, errors)?),
                other => {
                    errors.at(
                        other.span(),
                        format!("`{metric}` takes a fraction (0.01) or a percentage (\"1%\")"),
                    );
                    return None;
                }
            };
            match parsed {
                Ok(v) => v,
                Err(_) if matches!(metric, Metric::Cpu(_)) => {
                    errors.at(
                        value.span(),
                        format!("`{metric}` is a share of the cores available, from 0% to 100% (all of them busy), e.g. `cpu < \"80%\"`"),
                    );
                    return None;
                }
                Err(e) => {
                    errors.at(value.span(), format!("`{metric}`: {e}"));
                    return None;
                }
            }
        }
        MetricKind::Bytes => {
            let Lit::Str(s) = value else {
                errors.at(
                    value.span(),
                    format!("`{metric}` takes a size string such as \"100MB\" or \"4KiB\""),
                );
                return None;
            };
            match parse_size(&s.value()) {
                Ok(bytes) => bytes,
                Err(e) => {
                    errors.at(s.span(), format!("`{metric}`: {e}"));
                    return None;
                }
            }
        }
        MetricKind::PerSecond | MetricKind::Count | MetricKind::Value => match value {
            // `capacity >= "60000/m"`: a rate in any unit, per second here.
            Lit::Str(s) if metric.kind() == MetricKind::PerSecond => match parse_rate(&s.value()) {
                Ok(rate) => rate,
                Err(e) => {
                    errors.at(s.span(), format!("`{metric}`: {e}"));
                    return None;
                }
            },
            _ => match number(value, errors) {
                Some(n) => n,
                // A number, but not a finite one: already reported.
                None if is_number(value) => return None,
                None => {
                    let or_rate = if metric.kind() == MetricKind::PerSecond {
                        " or a rate such as \"60000/m\""
                    } else {
                        ""
                    };
                    errors.at(
                        value.span(),
                        format!(
                            "`{metric}` takes a number{or_rate}, e.g. `{metric} {} 1000`",
                            op.value
                        ),
                    );
                    return None;
                }
            },
        },
    };
    let window_lit = window;
    let window = match window {
        None => None,
        Some(w) => Some(positive_duration(&Lit::Str(w.clone()), "per", errors)?),
    };
    let tag_value = match tag {
        Some(t) if t.value().is_empty() => {
            errors.at(
                t.span(),
                "a tag is a non-empty string, e.g. `p95 for \"cold\" < \"1s\"`",
            );
            return None;
        }
        Some(t) => Some(&*Box::leak(t.value().into_boxed_str())),
        None => None,
    };
    let whole_run = ThresholdSpec {
        tag: tag_value,
        metric,
        op: op.value,
        limit,
        window: None,
        phase,
        relative_to,
    };
    if let Err(message) = whole_run.check() {
        errors.at(value.span(), message);
        return None;
    }
    let spec = ThresholdSpec {
        window,
        ..whole_run
    };
    if let (Err(message), Some(lit)) = (spec.check(), window_lit) {
        errors.at(lit.span(), message);
        return None;
    }
    Some(Spanned { value: spec, span })
}
