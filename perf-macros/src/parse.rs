//! Parsing `#[perf_test(...)]` arguments into a checked [`Config`].
//!
//! Two steps, as in tokio-macros: the token syntax is parsed into [`Arg`]s,
//! then each is validated and stored with its span, and the combination is
//! checked last. Every problem is collected, not just the first.

use std::time::Duration;

use perf_spec::{
    check_consistency, check_fraction, closest, parse_duration, parse_fraction, Metric, MetricKind,
    Op, Percentile, ThresholdSpec, METRIC_NAMES,
};
use proc_macro2::{Span, TokenStream};
use syn::parse::{Parse, ParseStream, Parser};
use syn::punctuated::Punctuated;
use syn::spanned::Spanned as _;
use syn::{Ident, Lit, Token};

/// Setting keys, in the order shown in messages.
const KEYS: &[&str] = &[
    "workers",
    "repeat",
    "duration",
    "warmup",
    "timeout",
    "iteration_timeout",
    "worker_threads",
    "crate",
];

/// Names users bring from other tools, with the key we use instead.
const RENAMED: &[(&str, &str)] = &[
    ("concurrency", "workers"),
    ("vus", "workers"),
    ("users", "workers"),
    ("iterations", "repeat"),
    ("count", "repeat"),
    ("threads", "worker_threads"),
    ("max_duration", "timeout"),
];

/// Collects errors so that all of them are reported at once.
#[derive(Default)]
pub(crate) struct Errors(Option<syn::Error>);

impl Errors {
    pub(crate) fn push(&mut self, error: syn::Error) {
        match &mut self.0 {
            Some(e) => e.combine(error),
            None => self.0 = Some(error),
        }
    }

    pub(crate) fn at(&mut self, span: Span, message: impl std::fmt::Display) {
        self.push(syn::Error::new(span, message));
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_none()
    }

    pub(crate) fn append(&mut self, other: Errors) {
        if let Some(e) = other.0 {
            self.push(e);
        }
    }

    pub(crate) fn into_result(self) -> syn::Result<()> {
        self.0.map_or(Ok(()), Err)
    }
}

/// A value with the span of the source it came from.
#[derive(Clone)]
pub(crate) struct Spanned<T> {
    pub(crate) value: T,
    pub(crate) span: Span,
}

/// Warm-up before measuring.
#[derive(Clone, Copy)]
pub(crate) enum Warmup {
    Iterations(u64),
    Time(Duration),
}

/// The checked configuration of one `#[perf_test]`.
#[derive(Default)]
pub(crate) struct Config {
    pub(crate) krate: Option<syn::Path>,
    pub(crate) workers: Option<Spanned<u64>>,
    pub(crate) repeat: Option<Spanned<u64>>,
    pub(crate) duration: Option<Spanned<Duration>>,
    pub(crate) warmup: Option<Spanned<Warmup>>,
    pub(crate) timeout: Option<Spanned<Duration>>,
    pub(crate) iteration_timeout: Option<Spanned<Duration>>,
    pub(crate) worker_threads: Option<Spanned<u64>>,
    pub(crate) thresholds: Vec<Spanned<ThresholdSpec>>,
}

/// One argument as written.
enum Arg {
    /// `key = value`
    Setting { key: Ident, value: Lit },
    /// `metric op value`
    Threshold {
        metric: MetricTok,
        op: Spanned<Op>,
        value: Lit,
    },
}

/// A metric as written: a name (`p95`) or `p(99.9)`.
enum MetricTok {
    Name(Ident),
    Percentile { p: Ident, value: Lit, span: Span },
}

impl MetricTok {
    fn span(&self) -> Span {
        match self {
            MetricTok::Name(i) => i.span(),
            MetricTok::Percentile { span, .. } => *span,
        }
    }
}

impl Parse for Arg {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let key = if input.peek(Token![crate]) {
            let kw: Token![crate] = input.parse()?;
            Ident::new("crate", kw.span)
        } else {
            input.call(Ident::parse)?
        };
        let metric = if input.peek(syn::token::Paren) {
            let content;
            let parens = syn::parenthesized!(content in input);
            let value: Lit = content.parse()?;
            let span = key
                .span()
                .join(parens.span.join())
                .unwrap_or_else(|| key.span());
            MetricTok::Percentile {
                p: key,
                value,
                span,
            }
        } else {
            MetricTok::Name(key)
        };
        let lookahead = input.lookahead1();
        let op = if lookahead.peek(Token![<=]) {
            Some((Op::Le, input.parse::<Token![<=]>()?.span()))
        } else if lookahead.peek(Token![>=]) {
            Some((Op::Ge, input.parse::<Token![>=]>()?.span()))
        } else if lookahead.peek(Token![==]) {
            let t: Token![==] = input.parse()?;
            return Err(syn::Error::new(
                t.span(),
                "`==` is not a threshold: use `<` or `<=` (latency, error_rate) or `>=` or `>` (throughput)",
            ));
        } else if lookahead.peek(Token![<]) {
            Some((Op::Lt, input.parse::<Token![<]>()?.span))
        } else if lookahead.peek(Token![>]) {
            Some((Op::Gt, input.parse::<Token![>]>()?.span))
        } else if lookahead.peek(Token![=]) {
            input.parse::<Token![=]>()?;
            None
        } else {
            return Err(lookahead.error());
        };
        let value: Lit = input.parse()?;
        Ok(match (op, metric) {
            (None, MetricTok::Name(key)) => Arg::Setting { key, value },
            (None, m @ MetricTok::Percentile { .. }) => {
                return Err(syn::Error::new(
                    m.span(),
                    "a percentile is a threshold: write e.g. `p(99.9) < \"500ms\"`",
                ))
            }
            (Some((op, span)), metric) => Arg::Threshold {
                metric,
                op: Spanned { value: op, span },
                value,
            },
        })
    }
}

/// Parses and validates the attribute's arguments.
pub(crate) fn parse_config(args: TokenStream) -> syn::Result<Config> {
    let args = Punctuated::<Arg, Token![,]>::parse_terminated.parse2(args)?;
    let mut config = Config::default();
    let mut errors = Errors::default();
    for arg in args {
        match arg {
            Arg::Setting { key, value } => config.set(&key, value, &mut errors),
            Arg::Threshold { metric, op, value } => {
                if let Some(t) = threshold(&metric, op, &value, &mut errors) {
                    config.thresholds.push(t);
                }
            }
        }
    }
    config.check_combination(&mut errors);
    errors.into_result().map(|()| config)
}

/// Stores `value` in `slot` unless the key was already given.
fn set_once<T>(slot: &mut Option<Spanned<T>>, key: &Ident, value: Option<T>, errors: &mut Errors) {
    if slot.is_some() {
        errors.at(key.span(), format!("duplicate key `{key}`"));
    } else if let Some(value) = value {
        *slot = Some(Spanned {
            value,
            span: key.span(),
        });
    }
}

fn positive_int(value: &Lit, key: &Ident, what: &str, errors: &mut Errors) -> Option<u64> {
    let Lit::Int(int) = value else {
        errors.at(
            value.span(),
            format!("`{key}` takes a whole number of {what}, e.g. `{key} = 10`"),
        );
        return None;
    };
    match int.base10_parse::<u64>() {
        Ok(0) => {
            errors.at(
                value.span(),
                format!("`{key} = 0` would run nothing; give at least 1"),
            );
            None
        }
        Ok(n) => Some(n),
        Err(e) => {
            errors.push(e);
            None
        }
    }
}

fn duration_lit(value: &Lit, key: &str, errors: &mut Errors) -> Option<Duration> {
    let Lit::Str(s) = value else {
        errors.at(
            value.span(),
            format!("`{key}` takes a duration string such as \"30s\" or \"250ms\""),
        );
        return None;
    };
    match parse_duration(&s.value()) {
        Ok(d) => Some(d),
        Err(e) => {
            errors.at(s.span(), format!("`{key}`: {e}"));
            None
        }
    }
}

fn positive_duration(value: &Lit, key: &Ident, errors: &mut Errors) -> Option<Duration> {
    let d = duration_lit(value, &key.to_string(), errors)?;
    if d.is_zero() {
        errors.at(value.span(), format!("`{key}` must be longer than zero"));
        return None;
    }
    Some(d)
}

impl Config {
    fn set(&mut self, key: &Ident, value: Lit, errors: &mut Errors) {
        match key.to_string().as_str() {
            "workers" => set_once(
                &mut self.workers,
                key,
                positive_int(&value, key, "workers", errors),
                errors,
            ),
            "repeat" => set_once(
                &mut self.repeat,
                key,
                positive_int(&value, key, "iterations", errors),
                errors,
            ),
            "worker_threads" => {
                let n = positive_int(&value, key, "threads", errors);
                set_once(&mut self.worker_threads, key, n, errors)
            }
            "duration" => set_once(
                &mut self.duration,
                key,
                positive_duration(&value, key, errors),
                errors,
            ),
            "timeout" => set_once(
                &mut self.timeout,
                key,
                positive_duration(&value, key, errors),
                errors,
            ),
            "iteration_timeout" => {
                let d = positive_duration(&value, key, errors);
                set_once(&mut self.iteration_timeout, key, d, errors)
            }
            "warmup" => {
                let w = match &value {
                    Lit::Int(_) => {
                        positive_int(&value, key, "iterations", errors).map(Warmup::Iterations)
                    }
                    _ => positive_duration(&value, key, errors).map(Warmup::Time),
                };
                set_once(&mut self.warmup, key, w, errors)
            }
            "crate" => {
                if self.krate.is_some() {
                    errors.at(key.span(), "duplicate key `crate`");
                    return;
                }
                match &value {
                    Lit::Str(s) => match s.parse::<syn::Path>() {
                        Ok(path) => self.krate = Some(path),
                        Err(_) => errors.at(s.span(), format!("`{}` is not a path", s.value())),
                    },
                    _ => errors.at(
                        value.span(),
                        "`crate` takes a path in a string, e.g. `crate = \"my_reexport\"`",
                    ),
                }
            }
            name => errors.at(key.span(), unknown_key_message(name)),
        }
    }

    fn check_combination(&self, errors: &mut Errors) {
        if let (Some(_), Some(d)) = (&self.repeat, &self.duration) {
            errors.at(
                d.span,
                "`repeat` and `duration` both set: choose one (a count of iterations, or a time)",
            );
        }
        let run_time = self.duration.as_ref().map(|d| d.value).unwrap_or_default()
            + match self.warmup.as_ref().map(|w| w.value) {
                Some(Warmup::Time(w)) => w,
                _ => Duration::ZERO,
            };
        if let Some(t) = &self.timeout {
            if !run_time.is_zero() && t.value <= run_time {
                errors.at(
                    t.span,
                    format!(
                        "`timeout` ({}) is not longer than the planned run ({}, warm-up included): \
                         the test could never finish",
                        perf_spec::format_duration(t.value),
                        perf_spec::format_duration(run_time)
                    ),
                );
            }
            if let Some(it) = &self.iteration_timeout {
                if it.value > t.value {
                    errors.at(
                        it.span,
                        "`iteration_timeout` is longer than the whole test's `timeout`",
                    );
                }
            }
        }
        let specs: Vec<ThresholdSpec> = self.thresholds.iter().map(|t| t.value).collect();
        for (index, message) in check_consistency(&specs) {
            errors.at(self.thresholds[index].span, message);
        }
    }
}

fn unknown_key_message(name: &str) -> String {
    if let Some((_, new)) = RENAMED.iter().find(|(old, _)| *old == name) {
        return format!("unknown key `{name}`; did you mean `{new}`?");
    }
    if Metric::from_name(name).is_some() {
        return format!("`{name}` is a threshold, not a setting: write e.g. `{name} < \"200ms\"`");
    }
    let mut all: Vec<&str> = KEYS.to_vec();
    all.extend_from_slice(METRIC_NAMES);
    let hint = closest(name, &all)
        .map(|c| format!(" did you mean `{c}`?"))
        .unwrap_or_default();
    format!(
        "unknown key `{name}`;{hint} valid keys: {}; thresholds: {}, p(N)",
        KEYS.join(", "),
        METRIC_NAMES.join(", ")
    )
}

fn threshold(
    metric: &MetricTok,
    op: Spanned<Op>,
    value: &Lit,
    errors: &mut Errors,
) -> Option<Spanned<ThresholdSpec>> {
    let span = metric
        .span()
        .join(value.span())
        .unwrap_or_else(|| metric.span());
    let metric = match metric {
        MetricTok::Name(name) => match Metric::from_name(&name.to_string()) {
            Some(m) => m,
            None => {
                let n = name.to_string();
                let message = if KEYS.contains(&n.as_str()) {
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
                return None;
            }
        },
        MetricTok::Percentile { p, value, .. } => {
            if p != "p" {
                errors.at(
                    p.span(),
                    format!("unknown metric `{p}(...)`; a percentile is written `p(99.9)`"),
                );
                return None;
            }
            let parsed = match value {
                Lit::Int(i) => i.base10_parse::<f64>(),
                Lit::Float(f) => f.base10_parse::<f64>(),
                other => Err(syn::Error::new(
                    other.span(),
                    "a percentile is a number, e.g. `p(99.9)`",
                )),
            };
            match parsed.map(Percentile::new) {
                Ok(Ok(p)) => Metric::Percentile(p),
                Ok(Err(message)) => {
                    errors.at(value.span(), message);
                    return None;
                }
                Err(e) => {
                    errors.push(e);
                    return None;
                }
            }
        }
    };
    if let Err(message) = metric.check_op(op.value) {
        errors.at(op.span, message);
        return None;
    }
    let limit = match metric.kind() {
        MetricKind::Latency => duration_lit(value, &metric.to_string(), errors)?.as_nanos() as f64,
        MetricKind::Fraction => {
            let parsed = match value {
                Lit::Str(s) => parse_fraction(&s.value()),
                Lit::Float(f) => f
                    .base10_parse::<f64>()
                    .map_err(|e| errors.push(e))
                    .ok()
                    .map(check_fraction)?,
                Lit::Int(i) => i
                    .base10_parse::<f64>()
                    .map_err(|e| errors.push(e))
                    .ok()
                    .map(check_fraction)?,
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
                Err(e) => {
                    errors.at(value.span(), format!("`{metric}`: {e}"));
                    return None;
                }
            }
        }
        MetricKind::PerSecond => match value {
            Lit::Int(i) => i.base10_parse::<f64>().map_err(|e| errors.push(e)).ok()?,
            Lit::Float(f) => f.base10_parse::<f64>().map_err(|e| errors.push(e)).ok()?,
            other => {
                errors.at(other.span(), "`throughput` takes iterations per second as a number, e.g. `throughput >= 1000`");
                return None;
            }
        },
    };
    let spec = ThresholdSpec {
        metric,
        op: op.value,
        limit,
    };
    if let Err(message) = spec.check() {
        errors.at(value.span(), message);
        return None;
    }
    Some(Spanned { value: spec, span })
}
