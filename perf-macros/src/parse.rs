//! The syntax of `#[perf_test(...)]`: arguments parsed into [`Arg`]s
//! (settings, thresholds, regression budgets), then handed to
//! [`Config::set`](crate::config) and the threshold parsers.
//!
//! Two steps, as in tokio-macros: the token syntax is parsed here; each
//! value is validated and stored with its span in `config.rs`, and the
//! combination is checked last. Every problem is collected, not just the
//! first.

use std::time::Duration;

use perf_spec::{Metric, Op, Profile, Stage, ThresholdSpec};
use proc_macro2::{Span, TokenStream};
use syn::parse::{Parse, ParseStream, Parser};
use syn::spanned::Spanned as _;
use syn::{Ident, Lit, LitStr, Token};

use crate::thresholds::{regression, threshold};

/// Setting keys, in the order shown in messages.
pub(crate) const KEYS: &[&str] = &[
    "workers",
    "repeat",
    "max_repeat",
    "exclusive",
    "batch",
    "duration",
    "rate",
    "stages",
    "profile",
    "warmup",
    "timeout",
    "iteration_timeout",
    "abort_on_fail",
    "gate",
    "runs",
    "confidence",
    "inconclusive",
    "baseline",
    "publish",
    "monitor",
    "cpu_profile",
    "heap_profile",
    "namespace",
    "sla",
    "validate",
    "setup",
    "teardown",
    "per_worker",
    "worker_threads",
    "crate",
];

/// Names users bring from other tools, with the key we use instead.
pub(crate) const RENAMED: &[(&str, &str)] = &[
    ("concurrency", "workers"),
    ("vus", "workers"),
    ("users", "workers"),
    ("iterations", "repeat"),
    ("count", "repeat"),
    ("threads", "worker_threads"),
    ("max_duration", "timeout"),
    ("arrival_rate", "rate"),
    ("rps", "rate"),
    ("scenario", "profile"),
    ("count_runs", "runs"),
    ("confidence_level", "confidence"),
    // k6 and Gatling.
    ("rampUp", "stages"),
    ("ramp_up", "stages"),
    ("rampUsers", "stages"),
    ("maxVUs", "workers"),
    ("preAllocatedVUs", "workers"),
    ("iterations_per_vu", "repeat"),
    ("maxDuration", "timeout"),
    ("scenarios", "profile"),
];

/// Metric names of other tools (k6, Gatling, JMeter) and common words,
/// with the threshold we take for them.
pub(crate) const METRIC_RENAMED: &[(&str, &str)] = &[
    ("rps", "throughput > 100"),
    ("http_reqs", "throughput > 100"),
    ("iterations", "throughput > 100"),
    ("requests_per_second", "throughput > 100"),
    ("requestsPerSec", "throughput > 100"),
    ("tps", "throughput > 100"),
    ("errors", "error_rate < 0.01"),
    ("failures", "error_rate < 0.01"),
    ("http_req_failed", "error_rate < 0.01"),
    ("failedRequests", "error_rate < 0.01"),
    ("error_percent", "error_rate < \"1%\""),
    // The HTTP client's own metrics (custom metrics: a statistic of them).
    (
        "http_req_duration",
        "p95 of \"http_req_duration\" < \"200ms\"",
    ),
    (
        "http_req_waiting",
        "p95 of \"http_req_waiting\" < \"200ms\"",
    ),
    (
        "http_req_connecting",
        "p95 of \"http_req_connecting\" < \"50ms\"",
    ),
    ("http_req_blocked", "p95 of \"http_req_blocked\" < \"50ms\""),
    ("http_req_sending", "p95 of \"http_req_sending\" < \"50ms\""),
    (
        "http_req_receiving",
        "p95 of \"http_req_receiving\" < \"50ms\"",
    ),
    (
        "http_req_tls_handshaking",
        "p95 of \"http_req_tls_handshaking\" < \"50ms\"",
    ),
    ("http_req_looking_up", "p95 of \"http_req_dns\" < \"50ms\""),
    ("iteration_duration", "p95 < \"200ms\""),
    ("responseTime", "p95 < \"200ms\""),
    ("response_time", "p95 < \"200ms\""),
    ("latency", "p95 < \"200ms\""),
    ("median", "p50 < \"100ms\""),
    ("med", "p50 < \"100ms\""),
    ("average", "mean < \"100ms\""),
    ("p999_9", "p(99.99) < \"1s\""),
    ("vus", "workers = 10 (a setting)"),
    ("memory", "peak_heap < \"64MB\""),
    ("allocations", "allocs_per_iter <= 3"),
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
#[derive(Default, Clone)]
pub(crate) struct Config {
    /// An argument did not parse: how the others combine is not checked
    /// (a missing `stages` would read as "`rate` needs `stages`").
    pub(crate) incomplete: bool,
    pub(crate) krate: Option<syn::Path>,
    pub(crate) workers: Option<Spanned<u64>>,
    pub(crate) repeat: Option<Spanned<u64>>,
    /// `repeat = "auto"`: iterate until every threshold is conclusive.
    pub(crate) auto: Option<Spanned<()>>,
    /// `max_repeat = 20_000`: the cap of `repeat = "auto"`.
    pub(crate) max_repeat: Option<Spanned<u64>>,
    /// `exclusive = false`: overlap other perf tests.
    pub(crate) exclusive: Option<Spanned<bool>>,
    /// `batch = "off"` (1), `"auto"` (0) or iterations per sample.
    pub(crate) batch: Option<Spanned<u64>>,
    pub(crate) duration: Option<Spanned<Duration>>,
    pub(crate) rate: Option<Spanned<f64>>,
    pub(crate) stages: Option<Spanned<Vec<Stage>>>,
    pub(crate) profile: Option<Spanned<Profile>>,
    pub(crate) warmup: Option<Spanned<Warmup>>,
    pub(crate) timeout: Option<Spanned<Duration>>,
    pub(crate) iteration_timeout: Option<Spanned<Duration>>,
    /// The grace period (zero for none).
    pub(crate) abort_on_fail: Option<Spanned<Duration>>,
    pub(crate) gate: Option<Spanned<String>>,
    /// `runs = 5`: independent runs of the whole load.
    pub(crate) runs: Option<Spanned<u64>>,
    /// `confidence = 0.99`.
    pub(crate) confidence: Option<Spanned<f64>>,
    /// `inconclusive = "fail"`.
    pub(crate) inconclusive: Option<Spanned<perf_spec::Inconclusive>>,
    pub(crate) worker_threads: Option<Spanned<u64>>,
    pub(crate) thresholds: Vec<Spanned<ThresholdSpec>>,
    pub(crate) baseline: Option<Spanned<String>>,
    /// `publish = "cloudwatch,emf"`: checked destinations, as written.
    pub(crate) publish: Option<Spanned<String>>,
    /// `monitor = "name:orders-fn,pid:1234"`: checked, as written.
    pub(crate) monitor: Option<Spanned<String>>,
    /// `cpu_profile` (99 Hz) or `cpu_profile = 499`: samples per second.
    pub(crate) cpu_profile: Option<Spanned<u64>>,
    /// `heap_profile` (512 KiB) or `heap_profile = "64KiB"`: mean bytes
    /// between samples.
    pub(crate) heap_profile: Option<Spanned<u64>>,
    /// `namespace = "Performance/Testing"`.
    pub(crate) namespace: Option<Spanned<String>>,
    /// `regression < "10%"` (metric `None`) and `p95 regression < "10%"`.
    pub(crate) regressions: Vec<Spanned<(Option<Metric>, f64)>>,
    /// `sla = CHECKOUT_SLA`: a const `PerformanceSLA`.
    pub(crate) sla: Option<Spanned<syn::Path>>,
    /// `validate = path::to_fn`: checks each output.
    pub(crate) validate: Option<Spanned<syn::Path>>,
    /// `setup = start_server`: an `async fn() -> S` run once before the load.
    pub(crate) setup: Option<Spanned<syn::Path>>,
    /// `teardown = stop_server`: an `async fn(Arc<S>)` run after it.
    pub(crate) teardown: Option<Spanned<syn::Path>>,
    /// `per_worker = connect`: an `async fn(usize, Arc<S>) -> W` per worker.
    pub(crate) per_worker: Option<Spanned<syn::Path>>,
    /// `capacity(rate = 50..=20_000, ...)`: a capacity search.
    pub(crate) capacity: Option<Spanned<perf_spec::CapacitySettings>>,
    /// Every phase a threshold names (`in "peak"`, `* "baseline"`), as
    /// written: each must be a phase of `stages`.
    pub(crate) phase_names: Vec<LitStr>,
    /// The limits of `capacity >=` written as rates (`"60000/m"`): a
    /// search over workers finds a number of workers, not a rate.
    pub(crate) capacity_rates: Vec<Span>,
}

/// A setting's value as written.
pub(crate) enum Value {
    /// `key = literal`
    Lit(Lit),
    /// `key = [("30s", 100), ("peak", "1m", 1000), ...]`
    List(Vec<(Option<LitStr>, Lit, Lit)>, Span),
    /// `key = some::path`
    Path(syn::Path),
    /// A bare `key`.
    Flag,
}

/// One argument as written.
enum Arg {
    Setting {
        key: Ident,
        value: Value,
    },
    Threshold {
        metric: MetricTok,
        /// `p95 of "cold_invoke"`: a custom metric's statistic.
        of: Option<LitStr>,
        tag: Option<LitStr>,
        op: Spanned<Op>,
        value: Lit,
        window: Option<LitStr>,
        /// `p95 in "peak"`, `recovery of p99 in "peak"`.
        phase: Option<Phased>,
    },
    /// `capacity(rate = 50..=20_000, hold = "10s")`
    Capacity(Spanned<perf_spec::CapacitySettings>),
    /// `[metric] regression < "10%"`
    Regression {
        metric: Option<MetricTok>,
        span: Span,
        op: Spanned<Op>,
        value: Lit,
    },
}

/// What narrows a threshold to a phase, as written.
pub(crate) struct Phased {
    /// `in "peak"`.
    pub(crate) phase: LitStr,
    /// `* "baseline"` after the limit: the limit is a factor of it.
    pub(crate) relative_to: Option<LitStr>,
    /// `recovery of p99`: the percentile that recovers.
    pub(crate) recovery_of: Option<MetricTok>,
}

/// A metric as written: a name (`p95`) or `p(99.9)`.
pub(crate) enum MetricTok {
    Name(Ident),
    Percentile { p: Ident, value: Lit },
}

impl MetricTok {
    pub(crate) fn span(&self) -> Span {
        match self {
            MetricTok::Name(i) | MetricTok::Percentile { p: i, .. } => i.span(),
        }
    }
}

fn parse_list(input: ParseStream<'_>) -> syn::Result<Value> {
    let content;
    let brackets = syn::bracketed!(content in input);
    let mut items = Vec::new();
    const FORM: &str =
        "a stage is (\"duration\", target), or (\"name\", \"duration\", target) to name its phase";
    while !content.is_empty() {
        let tuple;
        let parens = syn::parenthesized!(tuple in content);
        let mut lits: Vec<Lit> = Vec::new();
        while !tuple.is_empty() {
            lits.push(tuple.parse()?);
            if tuple.is_empty() {
                break;
            }
            tuple.parse::<Token![,]>()?;
        }
        let item = match <[Lit; 3]>::try_from(lits) {
            Ok([Lit::Str(name), d, t]) => (Some(name), d, t),
            Ok([first, ..]) => {
                return Err(syn::Error::new(
                    first.span(),
                    "a stage's name comes first, as a string: (\"peak\", \"2m\", 1000)",
                ))
            }
            Err(lits) => match <[Lit; 2]>::try_from(lits) {
                Ok([d, t]) => (None, d, t),
                Err(_) => return Err(syn::Error::new(parens.span.join(), FORM)),
            },
        };
        items.push(item);
        if content.is_empty() {
            break;
        }
        content.parse::<Token![,]>()?;
    }
    Ok(Value::List(items, brackets.span.join()))
}

/// A string literal, or an error saying that `what` is one (`p95 for cold`
/// reads `for "cold"`).
fn quoted(input: ParseStream<'_>, what: &str, example: &str) -> syn::Result<LitStr> {
    if input.peek(LitStr) {
        return input.parse();
    }
    if let Ok(ident) = input.fork().parse::<Ident>() {
        return Err(syn::Error::new(
            ident.span(),
            format!("{what} is a string: write `\"{ident}\"` (e.g. `{example}`)"),
        ));
    }
    Err(input.error(format!("{what} is a string, e.g. `{example}`")))
}

impl Parse for Arg {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let key = if input.peek(Token![crate]) {
            let kw: Token![crate] = input.parse()?;
            Ident::new("crate", kw.span)
        } else {
            input.call(Ident::parse)?
        };
        if key == "capacity" && input.peek(syn::token::Paren) {
            let content;
            syn::parenthesized!(content in input);
            return crate::capacity::parse(&content, key.span()).map(Arg::Capacity);
        }
        let metric = if input.peek(syn::token::Paren) {
            let content;
            syn::parenthesized!(content in input);
            MetricTok::Percentile {
                p: key,
                value: content.parse()?,
            }
        } else {
            MetricTok::Name(key)
        };
        // `p95 regression < "10%"`
        let regression = if input.peek(Ident) && input.fork().parse::<Ident>()? == "regression" {
            Some(input.parse::<Ident>()?)
        } else {
            None
        };
        // `recovery of p99 in "peak"`
        let is_recovery = matches!(&metric, MetricTok::Name(k) if k == "recovery");
        let recovery_of =
            if is_recovery && input.peek(Ident) && input.fork().parse::<Ident>()? == "of" {
                input.parse::<Ident>()?;
                let p: Ident = input.parse()?;
                Some(if input.peek(syn::token::Paren) {
                    let content;
                    syn::parenthesized!(content in input);
                    MetricTok::Percentile {
                        p,
                        value: content.parse()?,
                    }
                } else {
                    MetricTok::Name(p)
                })
            } else {
                None
            };
        // `mean of "consumed_rcu" < 1.0`; `check "body has id" > 0.999`
        let of = if matches!(&metric, MetricTok::Name(k) if k == "check") && input.peek(LitStr) {
            Some(input.parse::<LitStr>()?)
        } else if input.peek(Ident) && input.fork().parse::<Ident>()? == "of" {
            input.parse::<Ident>()?;
            Some(quoted(
                input,
                "a custom metric's name",
                "mean of \"consumed_rcu\"",
            )?)
        } else {
            None
        };
        // `p95 for "cold" < "1s"`
        let tag = if input.peek(Token![for]) {
            input.parse::<Token![for]>()?;
            Some(quoted(input, "a tag", "p95 for \"cold\"")?)
        } else {
            None
        };
        // `p95 in "peak" < "300ms"`
        let phase = if input.peek(Token![in]) {
            input.parse::<Token![in]>()?;
            Some(quoted(input, "a phase", "p95 in \"peak\"")?)
        } else {
            None
        };
        if let (Some(of), None) = (&recovery_of, &phase) {
            return Err(syn::Error::new(
                of.span(),
                "`recovery of` is the time a phase takes to recover: write `recovery of p99 in \"peak\" < \"60s\"`",
            ));
        }
        if input.is_empty() || input.peek(Token![,]) {
            return match metric {
                MetricTok::Name(key) => Ok(Arg::Setting {
                    key,
                    value: Value::Flag,
                }),
                m => Err(syn::Error::new(
                    m.span(),
                    "a percentile needs a limit: `p(99.9) < \"500ms\"`",
                )),
            };
        }
        let lookahead = input.lookahead1();
        let op = if lookahead.peek(Token![<=]) {
            Some((Op::Le, input.parse::<Token![<=]>()?.span()))
        } else if lookahead.peek(Token![>=]) {
            Some((Op::Ge, input.parse::<Token![>=]>()?.span()))
        } else if lookahead.peek(Token![==]) {
            Some((Op::Eq, input.parse::<Token![==]>()?.span()))
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
        let is_bare_regression = matches!(&metric, MetricTok::Name(k) if k == "regression");
        if let (Some((op, op_span)), true) = (op, regression.is_some() || is_bare_regression) {
            let value: Lit = input.parse()?;
            let span = metric.span();
            let metric = if is_bare_regression {
                None
            } else {
                Some(metric)
            };
            return Ok(Arg::Regression {
                metric,
                span,
                op: Spanned {
                    value: op,
                    span: op_span,
                },
                value,
            });
        }
        match (op, metric) {
            (None, MetricTok::Name(key)) => {
                let value = if input.peek(syn::token::Bracket) {
                    parse_list(input)?
                } else if input.peek(Lit) || input.peek(Token![-]) {
                    Value::Lit(input.parse()?)
                } else {
                    Value::Path(input.parse()?)
                };
                Ok(Arg::Setting { key, value })
            }
            (None, m) => Err(syn::Error::new(
                m.span(),
                "a percentile is a threshold: write e.g. `p(99.9) < \"500ms\"`",
            )),
            (Some((op, span)), metric) => {
                let value: Lit = input.parse()?;
                // `mean in "peak" < 1.5 * "baseline"`
                let relative_to = if input.peek(Token![*]) {
                    let star = input.parse::<Token![*]>()?;
                    if phase.is_none() {
                        return Err(syn::Error::new(
                            star.span,
                            "a relative limit compares one phase with another: write `mean in \"peak\" < 1.5 * \"baseline\"`",
                        ));
                    }
                    Some(quoted(
                        input,
                        "the phase compared with",
                        "1.5 * \"baseline\"",
                    )?)
                } else {
                    None
                };
                let window = if input.peek(Ident) && input.fork().parse::<Ident>()? == "per" {
                    input.parse::<Ident>()?;
                    Some(input.parse::<LitStr>()?)
                } else {
                    None
                };
                let phase = phase.map(|phase| Phased {
                    phase,
                    relative_to,
                    recovery_of,
                });
                Ok(Arg::Threshold {
                    metric,
                    of,
                    tag,
                    op: Spanned { value: op, span },
                    value,
                    window,
                    phase,
                })
            }
        }
    }
}

/// The comma-separated arguments. An argument that does not parse is
/// reported and skipped up to the next comma, so that one malformed
/// argument does not hide the errors of the others.
fn parse_each(input: ParseStream<'_>) -> syn::Result<(Vec<Arg>, Errors)> {
    let (mut args, mut errors) = (Vec::new(), Errors::default());
    let skip_to_comma = |input: ParseStream<'_>| -> syn::Result<()> {
        while !input.is_empty() && !input.peek(Token![,]) {
            input.parse::<proc_macro2::TokenTree>()?;
        }
        Ok(())
    };
    while !input.is_empty() {
        match input.parse::<Arg>() {
            Ok(arg) => args.push(arg),
            Err(e) => {
                errors.push(e);
                skip_to_comma(input)?;
            }
        }
        if input.is_empty() {
            break;
        }
        if let Err(e) = input.parse::<Token![,]>() {
            errors.push(e);
            skip_to_comma(input)?;
            if !input.is_empty() {
                input.parse::<Token![,]>()?;
            }
        }
    }
    Ok((args, errors))
}

/// Parses and validates the attribute's arguments.
pub(crate) fn parse_config(args: TokenStream) -> syn::Result<Config> {
    let (config, mut errors) = parse_args(args)?;
    config.check_combination(&mut errors);
    errors.into_result().map(|()| config)
}

/// Parses arguments without checking how they combine (a case's
/// overrides are only checked once merged with the attribute's).
pub(crate) fn parse_args(args: TokenStream) -> syn::Result<(Config, Errors)> {
    let (args, mut errors) = parse_each.parse2(args)?;
    let mut config = Config {
        incomplete: !errors.is_empty(),
        ..Config::default()
    };
    for arg in args {
        match arg {
            Arg::Setting { key, value } => config.set(&key, value, &mut errors),
            Arg::Capacity(c) => {
                if config.capacity.is_some() {
                    errors.at(c.span, "`capacity(...)` is set twice");
                } else {
                    config.capacity = Some(c);
                }
            }
            Arg::Threshold {
                metric,
                of,
                tag,
                op,
                value,
                window,
                phase,
            } => {
                if let Some(t) = threshold(
                    &metric,
                    of.as_ref(),
                    tag.as_ref(),
                    op,
                    &value,
                    window.as_ref(),
                    phase.as_ref(),
                    &mut errors,
                ) {
                    if let Some(p) = &phase {
                        config.phase_names.push(p.phase.clone());
                        config.phase_names.extend(p.relative_to.clone());
                    }
                    if t.value.metric == Metric::Capacity && matches!(value, Lit::Str(_)) {
                        config.capacity_rates.push(value.span());
                    }
                    config.thresholds.push(t);
                }
            }
            Arg::Regression {
                metric,
                span,
                op,
                value,
            } => {
                if let Some(r) = regression(metric.as_ref(), span, op, &value, &mut errors) {
                    if config.regressions.iter().any(|x| x.value.0 == r.value.0) {
                        errors.at(span, "duplicate regression budget for this metric");
                    } else {
                        config.regressions.push(r);
                    }
                }
            }
        }
    }
    Ok((config, errors))
}
