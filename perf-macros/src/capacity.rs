//! `capacity(rate = 50..=20_000, hold = "10s", step = 1.5, precision =
//! "5%", warmup = "20%")` (or `workers = 1..=512`, the closed model's
//! search): a capacity search, parsed and checked at
//! compile time, each error at the setting it is about.

use perf_spec::{
    closest, parse_duration, parse_fraction, CapacityAxis, CapacityField, CapacitySettings,
};
use proc_macro2::Span;
use syn::parse::ParseStream;
use syn::{Expr, Ident, Lit, Token};

use crate::parse::{Config, Errors, Spanned};
use perf_spec::Metric;

const SETTINGS: &[&str] = &["rate", "workers", "hold", "step", "precision", "warmup"];

fn number(lit: &Lit) -> syn::Result<f64> {
    let v = match lit {
        Lit::Int(i) => i.base10_parse::<f64>()?,
        Lit::Float(f) => f.base10_parse::<f64>()?,
        other => return Err(syn::Error::new(other.span(), "expected a number")),
    };
    Ok(v)
}

fn range_end(e: Option<&Expr>, which: &str, span: Span, example: &str) -> syn::Result<f64> {
    let negative = |shown: String, at: &dyn quote::ToTokens| {
        Err(syn::Error::new_spanned(
            at,
            format!("the range's {which} end is {shown}: the ends are positive, e.g. `{example}`"),
        ))
    };
    match e {
        Some(Expr::Lit(l)) if l_negative(&l.lit) => negative(lit_text(&l.lit), l),
        Some(Expr::Unary(u)) if matches!(u.op, syn::UnOp::Neg(_)) => match &*u.expr {
            Expr::Lit(l) => negative(format!("-{}", lit_text(&l.lit)), u),
            _ => Err(syn::Error::new_spanned(
                u,
                format!("a range's ends are numbers: `{example}`"),
            )),
        },
        Some(Expr::Lit(l)) => number(&l.lit),
        Some(other) => Err(syn::Error::new_spanned(
            other,
            format!("a range's ends are numbers: `{example}`"),
        )),
        None => Err(syn::Error::new(
            span,
            format!("a range has both ends: `{example}`"),
        )),
    }
}

/// A numeric literal written with its minus sign (syn keeps it on the
/// literal in some positions).
fn l_negative(lit: &Lit) -> bool {
    lit_text(lit).starts_with('-')
}

fn lit_text(lit: &Lit) -> String {
    match lit {
        Lit::Int(i) => i.base10_digits().to_owned(),
        Lit::Float(f) => f.base10_digits().to_owned(),
        other => quote::ToTokens::to_token_stream(other).to_string(),
    }
}

/// A share: `"5%"` or `0.05`.
fn share(lit: &Lit, what: &str) -> syn::Result<f64> {
    match lit {
        Lit::Str(s) => parse_fraction(&s.value())
            .map_err(|e| syn::Error::new(s.span(), format!("`{what}`: {e}"))),
        other => number(other),
    }
}

/// Parses the parenthesised settings of `capacity(...)`; `span` is the
/// `capacity` keyword's. On an error the rest of the parentheses is
/// skipped, so that the error shown is this one and not syn's
/// "unexpected token" for what was left.
pub(crate) fn parse(
    content: ParseStream<'_>,
    span: Span,
) -> syn::Result<Spanned<CapacitySettings>> {
    let parsed = parse_settings(content, span);
    if parsed.is_err() {
        while !content.is_empty() {
            content.parse::<proc_macro2::TokenTree>()?;
        }
    }
    parsed
}

fn parse_settings(content: ParseStream<'_>, span: Span) -> syn::Result<Spanned<CapacitySettings>> {
    let mut range: Option<(f64, f64, Span)> = None;
    let mut spans = [span; 5];
    let mut c = CapacitySettings::rate(0.0, 0.0);
    let mut seen: Vec<String> = Vec::new();
    while !content.is_empty() {
        let key: Ident = content.parse()?;
        let name = key.to_string();
        if seen.contains(&name) {
            return Err(syn::Error::new(
                key.span(),
                format!("`{name}` is set twice in `capacity(...)`"),
            ));
        }
        seen.push(name.clone());
        content.parse::<Token![=]>()?;
        match name.as_str() {
            "rate" | "workers" => {
                if range.is_some() {
                    return Err(syn::Error::new(
                        key.span(),
                        "a search varies one thing: `rate = low..=high` (open model) or `workers = low..=high` (closed model), not both",
                    ));
                }
                let example = if name == "rate" {
                    "rate = 50..=20_000"
                } else {
                    "workers = 1..=512"
                };
                let e: Expr = content.parse()?;
                let Expr::Range(r) = &e else {
                    let what = if name == "rate" {
                        "rates per second"
                    } else {
                        "numbers of workers"
                    };
                    return Err(syn::Error::new_spanned(
                        e,
                        format!("`{name}` is a range of {what}: `{example}`"),
                    ));
                };
                if matches!(r.limits, syn::RangeLimits::HalfOpen(_)) {
                    return Err(syn::Error::new_spanned(
                        r,
                        "write `low..=high`: the top of the range is tried too",
                    ));
                }
                let s = syn::spanned::Spanned::span(r);
                range = Some((
                    range_end(r.start.as_deref(), "low", s, example)?,
                    range_end(r.end.as_deref(), "high", s, example)?,
                    s,
                ));
                if name == "workers" {
                    c.axis = CapacityAxis::Workers;
                }
                spans[0] = s;
            }
            "hold" => {
                let lit: Lit = content.parse()?;
                let Lit::Str(s) = &lit else {
                    return Err(syn::Error::new(
                        lit.span(),
                        "`hold` is a duration: `hold = \"10s\"`",
                    ));
                };
                c.hold = parse_duration(&s.value())
                    .map_err(|e| syn::Error::new(s.span(), format!("`hold`: {e}")))?;
                spans[1] = s.span();
            }
            "step" => {
                let lit: Lit = content.parse()?;
                c.step = number(&lit)?;
                spans[2] = lit.span();
            }
            "precision" | "warmup" => {
                let lit: Lit = content.parse()?;
                let v = share(&lit, &name)?;
                if name == "precision" {
                    (c.precision, spans[3]) = (v, lit.span());
                } else {
                    (c.warmup, spans[4]) = (v, lit.span());
                }
            }
            other => {
                let hint = closest(other, SETTINGS)
                    .map(|s| format!("did you mean `{s}`? "))
                    .unwrap_or_default();
                return Err(syn::Error::new(
                    key.span(),
                    format!(
                        "unknown setting `{other}` of `capacity(...)`; {hint}settings: {}",
                        SETTINGS.join(", ")
                    ),
                ));
            }
        }
        if content.is_empty() {
            break;
        }
        content.parse::<Token![,]>()?;
    }
    let Some((low, high, _)) = range else {
        return Err(syn::Error::new(
            span,
            "`capacity(...)` needs the range to search: `capacity(rate = 50..=20_000)` or `capacity(workers = 1..=512)`",
        ));
    };
    (c.low, c.high) = (low, high);
    if let Err((field, why)) = c.check() {
        let at = match field {
            CapacityField::Range => spans[0],
            CapacityField::Hold => spans[1],
            CapacityField::Step => spans[2],
            CapacityField::Precision => spans[3],
            CapacityField::Warmup => spans[4],
        };
        return Err(syn::Error::new(at, why));
    }
    Ok(Spanned { value: c, span })
}

/// How a search combines with the rest of the attribute: it sets the rate
/// and each step's length itself, its steps need a threshold to break,
/// and `capacity >=` needs a search.
pub(crate) fn check(config: &Config, errors: &mut Errors) {
    let capacity_thresholds = config
        .thresholds
        .iter()
        .filter(|t| t.value.metric == Metric::Capacity);
    let Some(search) = &config.capacity else {
        for t in capacity_thresholds {
            errors.at(
                t.span,
                "`capacity >=` judges a capacity search: add `capacity(rate = low..=high)`",
            );
        }
        return;
    };
    if search.value.axis == CapacityAxis::Workers {
        for span in &config.capacity_rates {
            errors.at(
                *span,
                "a search over workers finds a number of workers, not a rate: write e.g. `capacity >= 64`",
            );
        }
    }
    for t in capacity_thresholds.clone() {
        if let Err(e) = search.value.axis.check_limit(t.value.limit) {
            errors.at(t.span, e);
        }
    }
    let (sets, workers) = match search.value.axis {
        CapacityAxis::Rate => ("the rate", None),
        CapacityAxis::Workers => (
            "the number of workers",
            config.workers.as_ref().map(|s| s.span),
        ),
    };
    let clash = |key: &str| {
        format!(
            "`{key}` does not go with `capacity(...)`: the search sets {sets}, and each step lasts `hold`"
        )
    };
    let spans = [
        ("workers", workers),
        ("rate", config.rate.as_ref().map(|s| s.span)),
        ("repeat", config.repeat.as_ref().map(|s| s.span)),
        ("duration", config.duration.as_ref().map(|s| s.span)),
        ("stages", config.stages.as_ref().map(|s| s.span)),
        ("profile", config.profile.as_ref().map(|s| s.span)),
        ("runs", config.runs.as_ref().map(|s| s.span)),
    ];
    for (key, span) in spans {
        if let Some(span) = span {
            errors.at(span, clash(key));
        }
    }
    if config.thresholds.len() == capacity_thresholds.count() {
        errors.at(
            search.span,
            "a capacity search needs a latency or error threshold to judge its steps by \
             (nothing could break it): add e.g. `p95 < \"200ms\"`",
        );
    }
}
