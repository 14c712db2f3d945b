//! Literal values as written in the attribute: numbers, durations,
//! rates, stages, `batch`, `profile`, `gate`, each checked with an error
//! at the literal that says what the key takes.

use std::time::Duration;

use perf_spec::{check_stages, closest, parse_duration, parse_rate, Profile, Stage, PROFILE_NAMES};
use proc_macro2::Span;
use syn::spanned::Spanned as _;
use syn::Lit;

use crate::parse::{Errors, Value};

pub(crate) fn positive_int(value: &Lit, key: &str, what: &str, errors: &mut Errors) -> Option<u64> {
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
        Err(_) => {
            errors.at(value.span(), not_a_count(int.base10_digits(), key, what));
            None
        }
    }
}

/// Why `digits` (a literal that does not parse as a `u64`) is not a count:
/// negative, or too large (rustc's "invalid digit found in string" names
/// neither).
pub(crate) fn not_a_count(digits: &str, key: &str, what: &str) -> String {
    if digits.starts_with('-') {
        format!("`{key} = {digits}`: a number of {what} cannot be negative; give at least 1")
    } else {
        format!("`{key} = {digits}` is too large for a number of {what}")
    }
}

pub(crate) fn duration_lit(value: &Lit, key: &str, errors: &mut Errors) -> Option<Duration> {
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

pub(crate) fn positive_duration(value: &Lit, key: &str, errors: &mut Errors) -> Option<Duration> {
    let d = duration_lit(value, key, errors)?;
    if d.is_zero() {
        errors.at(value.span(), format!("`{key}` must be longer than zero"));
        return None;
    }
    Some(d)
}

/// A numeric literal (which [`number`] reports on itself when it is not a
/// usable number).
pub(crate) fn is_number(value: &Lit) -> bool {
    matches!(value, Lit::Int(_) | Lit::Float(_))
}

/// The value of a numeric literal; `None` (with an error, when it is one
/// but not finite or not parsable) otherwise.
pub(crate) fn number(value: &Lit, errors: &mut Errors) -> Option<f64> {
    let n = match value {
        Lit::Int(i) => i.base10_parse::<f64>().map_err(|e| errors.push(e)).ok(),
        Lit::Float(f) => f.base10_parse::<f64>().map_err(|e| errors.push(e)).ok(),
        _ => None,
    }?;
    if !n.is_finite() {
        errors.at(
            value.span(),
            "this number is too large to be finite: give a finite number",
        );
        return None;
    }
    Some(n)
}

/// `positive_int`, at most `max`.
pub(crate) fn bounded_int(
    value: &Lit,
    key: &str,
    what: &str,
    max: u64,
    errors: &mut Errors,
) -> Option<u64> {
    let n = positive_int(value, key, what, errors)?;
    if n > max {
        errors.at(
            value.span(),
            format!("`{key} = {n}` is over the limit of {max} {what}"),
        );
        return None;
    }
    Some(n)
}

pub(crate) fn rate_lit(value: &Lit, errors: &mut Errors) -> Option<f64> {
    let rate = match value {
        Lit::Str(s) => parse_rate(&s.value())
            .map_err(|e| errors.at(s.span(), format!("`rate`: {e}")))
            .ok()?,
        Lit::Int(_) | Lit::Float(_) => number(value, errors)?,
        _ => {
            errors.at(
                value.span(),
                "`rate` takes iterations per second: `rate = 1000` or `rate = \"30000/m\"`",
            );
            return None;
        }
    };
    if rate < 0.0 {
        errors.at(
            value.span(),
            "`rate` is iterations per second: it cannot be negative",
        );
        return None;
    }
    Some(rate)
}

pub(crate) fn stages_value(value: &Value, errors: &mut Errors) -> Option<Vec<Stage>> {
    const FORM: &str = "`stages` takes a list of (duration, target) pairs, each with a phase name first if you like: stages = [(\"30s\", 100), (\"peak\", \"1m\", 1000)]";
    let Value::List(items, span) = value else {
        errors.at(value_span(value), FORM);
        return None;
    };
    let mut stages = Vec::new();
    for (name, d, t) in items {
        let duration = duration_lit(d, "stages", errors);
        let target = number(t, errors);
        if target.is_none() && !is_number(t) {
            errors.at(
                t.span(),
                "a stage's target is a number (iterations/s with `rate`, workers without)",
            );
        }
        stages.push(Stage {
            name: name
                .as_ref()
                .map(|n| &*Box::leak(n.value().into_boxed_str())),
            duration: duration?,
            target: target?,
        });
    }
    match check_stages(&stages) {
        Ok(()) => Some(stages),
        Err(message) => {
            errors.at(*span, message);
            None
        }
    }
}

fn value_span(value: &Value) -> Span {
    match value {
        Value::Lit(l) => l.span(),
        Value::Path(p) => p.span(),
        Value::List(_, span) => *span,
        Value::Flag => Span::call_site(),
    }
}

/// `batch`: `"auto"` (0), `"off"` (1) or a number of iterations per
/// sample, at most [`perf_spec::MAX_BATCH`].
pub(crate) fn batch_lit(value: &Lit, errors: &mut Errors) -> Option<u64> {
    match value {
        Lit::Str(s) if s.value() == "auto" => Some(0),
        Lit::Str(s) if s.value() == "off" => Some(1),
        Lit::Int(int) if int.base10_digits() == "0" => {
            errors.at(
                value.span(),
                "`batch = 0`: a sample covers at least 1 iteration (`batch = \"off\"` is 1)",
            );
            None
        }
        Lit::Int(_) => bounded_int(value, "batch", "iterations", perf_spec::MAX_BATCH, errors),
        _ => {
            errors.at(
                value.span(),
                "`batch` takes \"auto\" (the default: batch bodies far below a microsecond), \"off\" \
                 (every iteration its own sample) or a number of iterations per sample, e.g. `batch = 64`",
            );
            None
        }
    }
}

pub(crate) fn profile_lit(value: &Lit, errors: &mut Errors) -> Option<Profile> {
    let Lit::Str(s) = value else {
        errors.at(
            value.span(),
            format!(
                "`profile` takes a name: one of {}",
                PROFILE_NAMES.join(", ")
            ),
        );
        return None;
    };
    let name = s.value();
    Profile::from_name(&name).or_else(|| {
        let hint = closest(&name, PROFILE_NAMES)
            .map(|c| format!(" did you mean \"{c}\"?"))
            .unwrap_or_default();
        errors.at(
            s.span(),
            format!(
                "unknown profile \"{name}\";{hint} profiles: {}",
                PROFILE_NAMES.join(", ")
            ),
        );
        None
    })
}

pub(crate) fn gate_lit(value: &Lit, errors: &mut Errors) -> Option<String> {
    match value {
        Lit::Str(s) if is_env_name(&s.value()) => Some(s.value()),
        _ => {
            errors.at(
                value.span(),
                "`gate` takes an environment variable's name, e.g. `gate = \"LOAD_TEST\"`",
            );
            None
        }
    }
}

pub(crate) fn is_version_name(s: &str) -> bool {
    !s.is_empty()
        && !s.starts_with('.')
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
}

fn is_env_name(s: &str) -> bool {
    !s.is_empty()
        && !s.starts_with(|c: char| c.is_ascii_digit())
        && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}
