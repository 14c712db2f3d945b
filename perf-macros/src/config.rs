//! The checked configuration: each setting validated and stored with its
//! span (a "set once" helper rejects repeats), then the combination
//! checked, and a case's overrides merged on top.

use std::time::Duration;

use perf_spec::{
    check_consistency, check_stages, closest, format_duration, parse_duration, parse_rate,
    stages_duration, Metric, MetricKind, Profile, Stage, ThresholdSpec, METRIC_NAMES,
    PROFILE_NAMES,
};
use proc_macro2::Span;
use syn::spanned::Spanned as _;
use syn::{Ident, Lit};

use crate::parse::{Config, Errors, Spanned, Value, Warmup, KEYS, RENAMED};

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

fn positive_int(value: &Lit, key: &str, what: &str, errors: &mut Errors) -> Option<u64> {
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
fn bounded_int(value: &Lit, key: &str, what: &str, max: u64, errors: &mut Errors) -> Option<u64> {
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

fn rate_lit(value: &Lit, errors: &mut Errors) -> Option<f64> {
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

fn stages_value(value: &Value, errors: &mut Errors) -> Option<Vec<Stage>> {
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

impl Config {
    pub(crate) fn set(&mut self, key: &Ident, value: Value, errors: &mut Errors) {
        let name = key.to_string();
        if name == "capacity" {
            errors.at(
                key.span(),
                "`capacity` takes its settings in parentheses: `capacity(rate = 50..=20_000, hold = \"10s\")`",
            );
            return;
        }
        if let ("sla" | "validate" | "setup" | "teardown" | "per_worker", Value::Path(path)) =
            (name.as_str(), &value)
        {
            let slot = match name.as_str() {
                "sla" => &mut self.sla,
                "validate" => &mut self.validate,
                "setup" => &mut self.setup,
                "teardown" => &mut self.teardown,
                _ => &mut self.per_worker,
            };
            set_once(slot, key, Some(path.clone()), errors);
            return;
        }
        let lit = match (&value, name.as_str()) {
            (Value::Lit(l), _) => Some(l),
            (Value::Path(p), _) if KEYS.contains(&name.as_str()) => {
                let hint = if matches!(
                    name.as_str(),
                    "sla" | "validate" | "setup" | "teardown" | "per_worker"
                ) {
                    String::new()
                } else {
                    " (a literal: a number or a string)".to_owned()
                };
                errors.at(
                    p.span(),
                    format!("`{name}` does not take a path here{hint}"),
                );
                return;
            }
            (_, "stages") => None,
            (Value::Flag, "abort_on_fail" | "cpu_profile" | "heap_profile") => None,
            (Value::Flag, _) if KEYS.contains(&name.as_str()) => {
                errors.at(
                    key.span(),
                    format!("`{name}` needs a value: `{name} = ...`"),
                );
                return;
            }
            (Value::List(_, span), _) if KEYS.contains(&name.as_str()) => {
                errors.at(*span, format!("`{name}` does not take a list"));
                return;
            }
            _ => None,
        };
        match (name.as_str(), lit) {
            ("workers", Some(v)) => {
                let n = bounded_int(v, &name, "workers", perf_spec::MAX_WORKERS, errors);
                set_once(&mut self.workers, key, n, errors)
            }
            ("repeat", Some(Lit::Str(s))) => {
                if self.repeat.is_some() {
                    errors.at(key.span(), "duplicate key `repeat`");
                } else if s.value() == "auto" {
                    set_once(&mut self.auto, key, Some(()), errors)
                } else {
                    errors.at(
                        s.span(),
                        format!(
                            "`repeat` takes a whole number of iterations (`repeat = 1000`) or \"auto\" \
                             (iterate until every threshold is conclusive), not {:?}",
                            s.value()
                        ),
                    );
                }
            }
            ("repeat", Some(v)) => {
                let n = positive_int(v, &name, "iterations", errors);
                if self.auto.is_some() {
                    errors.at(key.span(), "duplicate key `repeat`");
                } else {
                    set_once(&mut self.repeat, key, n, errors)
                }
            }
            ("exclusive", Some(Lit::Bool(b))) => set_once(&mut self.exclusive, key, Some(b.value), errors),
            ("exclusive", Some(v)) => errors.at(
                v.span(),
                "`exclusive` takes `true` (the default: wait for other perf tests, and keep them waiting) or `false`",
            ),
            ("batch", Some(v)) => {
                let k = batch_lit(v, errors);
                set_once(&mut self.batch, key, k, errors)
            }
            ("max_repeat", Some(v)) => {
                let n = positive_int(v, &name, "iterations", errors);
                set_once(&mut self.max_repeat, key, n, errors)
            }
            ("worker_threads", Some(v)) => {
                let n = bounded_int(v, &name, "threads", perf_spec::MAX_WORKER_THREADS, errors);
                set_once(&mut self.worker_threads, key, n, errors)
            }
            ("duration", Some(v)) => {
                let d = positive_duration(v, &name, errors);
                set_once(&mut self.duration, key, d, errors)
            }
            ("timeout", Some(v)) => {
                let d = positive_duration(v, &name, errors);
                set_once(&mut self.timeout, key, d, errors)
            }
            ("iteration_timeout", Some(v)) => {
                let d = positive_duration(v, &name, errors);
                set_once(&mut self.iteration_timeout, key, d, errors)
            }
            ("rate", Some(v)) => {
                let r = rate_lit(v, errors);
                set_once(&mut self.rate, key, r, errors)
            }
            ("stages", _) => {
                let s = stages_value(&value, errors);
                set_once(&mut self.stages, key, s, errors)
            }
            ("profile", Some(v)) => {
                let p = profile_lit(v, errors);
                set_once(&mut self.profile, key, p, errors)
            }
            ("gate", Some(v)) => {
                let g = gate_lit(v, errors);
                set_once(&mut self.gate, key, g, errors)
            }
            ("runs", Some(v)) => {
                let n = bounded_int(v, &name, "runs", perf_spec::MAX_RUNS, errors);
                set_once(&mut self.runs, key, n, errors)
            }
            ("confidence", Some(v)) => {
                let c = match v {
                    v if is_number(v) => number(v, errors).and_then(|c| {
                        perf_spec::check_confidence(c)
                            .map_err(|e| errors.at(v.span(), format!("`confidence`: {e}")))
                            .ok()
                    }),
                    _ => {
                        errors.at(
                            v.span(),
                            "`confidence` takes a number in [0.5, 0.9999], e.g. `confidence = 0.99`",
                        );
                        None
                    }
                };
                set_once(&mut self.confidence, key, c, errors)
            }
            ("inconclusive", Some(v)) => {
                let p = match v {
                    Lit::Str(s) => perf_spec::parse_inconclusive(&s.value())
                        .map_err(|e| errors.at(s.span(), format!("`inconclusive`: {e}")))
                        .ok(),
                    _ => {
                        errors.at(
                            v.span(),
                            "`inconclusive` takes \"fail\", \"pass\" or \"warn\" (what a threshold whose interval holds its limit does)",
                        );
                        None
                    }
                };
                set_once(&mut self.inconclusive, key, p, errors)
            }
            ("baseline", Some(v)) => {
                let version = match v {
                    Lit::Str(s) if is_version_name(&s.value()) => Some(s.value()),
                    _ => {
                        errors.at(
                            v.span(),
                            "`baseline` takes a version name: letters, digits, `.`, `_`, `-` (e.g. \"v1.0.0\")",
                        );
                        None
                    }
                };
                set_once(&mut self.baseline, key, version, errors)
            }
            ("publish", Some(v)) => {
                let targets = match v {
                    Lit::Str(s) => match perf_spec::parse_publish_targets(&s.value()) {
                        Ok(_) => Some(s.value()),
                        Err(e) => {
                            errors.at(s.span(), format!("`publish`: {e}"));
                            None
                        }
                    },
                    _ => {
                        errors.at(
                            v.span(),
                            "`publish` takes a string: \"cloudwatch\", \"emf\" or \"emf:<path>\" (comma-separated)",
                        );
                        None
                    }
                };
                set_once(&mut self.publish, key, targets, errors)
            }
            ("monitor", Some(v)) => {
                let list = match v {
                    Lit::Str(s) => match perf_spec::Monitor::parse_list(&s.value()) {
                        Ok(_) => Some(s.value()),
                        Err(e) => {
                            errors.at(s.span(), format!("`monitor`: {e}"));
                            None
                        }
                    },
                    _ => {
                        errors.at(
                            v.span(),
                            "`monitor` takes a string: \"pid:<id>\" or \"name:<process name>\" (comma-separated)",
                        );
                        None
                    }
                };
                set_once(&mut self.monitor, key, list, errors)
            }
            ("namespace", Some(v)) => {
                let namespace = match v {
                    Lit::Str(s) => match perf_spec::check_namespace(&s.value()) {
                        Ok(()) => Some(s.value()),
                        Err(e) => {
                            let sep = if e.starts_with("takes") { " " } else { ": " };
                            errors.at(s.span(), format!("`namespace`{sep}{e}"));
                            None
                        }
                    },
                    _ => {
                        errors.at(
                            v.span(),
                            "`namespace` takes a CloudWatch namespace: a non-empty string of at most 255 characters, e.g. \"Performance/Testing\"",
                        );
                        None
                    }
                };
                set_once(&mut self.namespace, key, namespace, errors)
            }
            ("sla", Some(v)) => errors.at(
                v.span(),
                "`sla` takes the path of a const `PerformanceSLA`, e.g. `sla = CHECKOUT_SLA` (not a string)",
            ),
            ("validate", Some(v)) => errors.at(
                v.span(),
                "`validate` takes the path of a function, e.g. `validate = check_order` (not a string)",
            ),
            ("setup" | "teardown" | "per_worker", Some(v)) => errors.at(
                v.span(),
                format!("`{name}` takes the path of an async function, e.g. `{name} = my_{name}` (not a string)"),
            ),
            ("cpu_profile", v) => {
                let hz = match v {
                    None => Some(u64::from(perf_spec::DEFAULT_PROFILE_HZ)),
                    Some(v @ Lit::Int(_)) => bounded_int(
                        v,
                        "cpu_profile",
                        "samples per second",
                        u64::from(perf_spec::MAX_PROFILE_HZ),
                        errors,
                    ),
                    Some(v) => {
                        errors.at(
                            v.span(),
                            format!(
                                "`cpu_profile` takes samples per second (`cpu_profile = 499`, at most {}), or nothing (`cpu_profile`: {} Hz)",
                                perf_spec::MAX_PROFILE_HZ,
                                perf_spec::DEFAULT_PROFILE_HZ
                            ),
                        );
                        None
                    }
                };
                set_once(&mut self.cpu_profile, key, hz, errors)
            }
            ("heap_profile", v) => {
                let rate = match v {
                    None => Some(perf_spec::DEFAULT_HEAP_PROFILE_RATE),
                    Some(Lit::Str(s)) => match perf_spec::parse_heap_rate(&s.value()) {
                        Ok(r) => Some(r),
                        Err(e) => {
                            errors.at(s.span(), format!("`heap_profile`: {e}"));
                            None
                        }
                    },
                    Some(v) => {
                        errors.at(
                            v.span(),
                            "`heap_profile` takes the mean bytes between samples as a size (`heap_profile = \"64KiB\"`), or nothing (`heap_profile`: 512KiB)",
                        );
                        None
                    }
                };
                set_once(&mut self.heap_profile, key, rate, errors)
            }
            ("abort_on_fail", v) => {
                let grace = match v {
                    None => Some(Duration::ZERO),
                    Some(v) => duration_lit(v, "abort_on_fail", errors),
                };
                set_once(&mut self.abort_on_fail, key, grace, errors)
            }
            ("warmup", Some(v)) => {
                let w = match v {
                    Lit::Int(_) => {
                        positive_int(v, &name, "iterations", errors).map(Warmup::Iterations)
                    }
                    _ => positive_duration(v, &name, errors).map(Warmup::Time),
                };
                set_once(&mut self.warmup, key, w, errors)
            }
            ("crate", Some(v)) => {
                if self.krate.is_some() {
                    errors.at(key.span(), "duplicate key `crate`");
                    return;
                }
                match v {
                    Lit::Str(s) => match s.parse::<syn::Path>() {
                        Ok(path) => self.krate = Some(path),
                        Err(_) => errors.at(s.span(), format!("`{}` is not a path", s.value())),
                    },
                    _ => errors.at(
                        v.span(),
                        "`crate` takes a path in a string, e.g. `crate = \"my_reexport\"`",
                    ),
                }
            }
            (name, _) => errors.at(key.span(), unknown_key_message(name)),
        }
    }

    /// This configuration with a case's overrides on top: settings the case
    /// gives replace the attribute's; a case threshold replaces the
    /// attribute's on the same metric, direction and window.
    pub(crate) fn merged(&self, over: &Config) -> Config {
        fn pick<T: Clone>(over: &Option<T>, base: &Option<T>) -> Option<T> {
            over.clone().or_else(|| base.clone())
        }
        let replaced = |t: &Spanned<ThresholdSpec>| {
            over.thresholds.iter().any(|o| {
                o.value.metric == t.value.metric
                    && o.value.op.is_upper_bound() == t.value.op.is_upper_bound()
                    && o.value.window == t.value.window
            })
        };
        let mut thresholds: Vec<_> = self
            .thresholds
            .iter()
            .filter(|t| !replaced(t))
            .cloned()
            .collect();
        thresholds.extend(over.thresholds.iter().cloned());
        let mut regressions: Vec<_> = self
            .regressions
            .iter()
            .filter(|r| !over.regressions.iter().any(|o| o.value.0 == r.value.0))
            .cloned()
            .collect();
        regressions.extend(over.regressions.iter().cloned());
        Config {
            incomplete: self.incomplete || over.incomplete,
            krate: pick(&over.krate, &self.krate),
            workers: pick(&over.workers, &self.workers),
            // A case choosing a count or a time replaces either of the
            // base's; `repeat = "auto"` is a count.
            auto: if over.repeat.is_some() || over.duration.is_some() {
                over.auto.clone()
            } else {
                pick(&over.auto, &self.auto)
            },
            max_repeat: pick(&over.max_repeat, &self.max_repeat),
            exclusive: pick(&over.exclusive, &self.exclusive),
            batch: pick(&over.batch, &self.batch),
            repeat: if over.duration.is_some() || over.auto.is_some() {
                over.repeat.clone()
            } else {
                pick(&over.repeat, &self.repeat)
            },
            duration: if over.repeat.is_some() || over.auto.is_some() {
                over.duration.clone()
            } else {
                pick(&over.duration, &self.duration)
            },
            rate: pick(&over.rate, &self.rate),
            stages: pick(&over.stages, &self.stages),
            profile: pick(&over.profile, &self.profile),
            warmup: pick(&over.warmup, &self.warmup),
            timeout: pick(&over.timeout, &self.timeout),
            iteration_timeout: pick(&over.iteration_timeout, &self.iteration_timeout),
            abort_on_fail: pick(&over.abort_on_fail, &self.abort_on_fail),
            gate: pick(&over.gate, &self.gate),
            runs: pick(&over.runs, &self.runs),
            confidence: pick(&over.confidence, &self.confidence),
            inconclusive: pick(&over.inconclusive, &self.inconclusive),
            worker_threads: pick(&over.worker_threads, &self.worker_threads),
            thresholds,
            baseline: pick(&over.baseline, &self.baseline),
            publish: pick(&over.publish, &self.publish),
            monitor: pick(&over.monitor, &self.monitor),
            cpu_profile: pick(&over.cpu_profile, &self.cpu_profile),
            heap_profile: pick(&over.heap_profile, &self.heap_profile),
            namespace: pick(&over.namespace, &self.namespace),
            regressions,
            sla: pick(&over.sla, &self.sla),
            validate: pick(&over.validate, &self.validate),
            setup: pick(&over.setup, &self.setup),
            teardown: pick(&over.teardown, &self.teardown),
            per_worker: pick(&over.per_worker, &self.per_worker),
            capacity: pick(&over.capacity, &self.capacity),
            phase_names: self
                .phase_names
                .iter()
                .chain(&over.phase_names)
                .cloned()
                .collect(),
            // A case's `capacity >=` replaces the base's.
            capacity_rates: if over
                .thresholds
                .iter()
                .any(|t| t.value.metric == Metric::Capacity)
            {
                over.capacity_rates.clone()
            } else {
                self.capacity_rates.clone()
            },
        }
    }

    /// The planned length of the measured phase, if known at compile time.
    fn run_length(&self) -> Option<Duration> {
        if let Some(s) = &self.stages {
            return Some(stages_duration(&s.value));
        }
        let d = self.duration.as_ref()?.value;
        Some(self.profile.as_ref().map_or(d, |p| p.value.run_length(d)))
    }

    pub(crate) fn check_combination(&self, errors: &mut Errors) {
        if self.incomplete {
            return;
        }
        self.check_auto(errors);
        crate::capacity::check(self, errors);
        crate::phases::check(self, errors);
        if self.setup.is_none() {
            for (key, path) in [
                ("teardown", &self.teardown),
                ("per_worker", &self.per_worker),
            ] {
                if let Some(p) = path {
                    errors.at(
                        p.span,
                        format!("`{key}` goes with a `setup`: add `setup = …` (an `async fn() -> State`)"),
                    );
                }
            }
        }
        if let (Some(_), Some(d)) = (&self.repeat, &self.duration) {
            errors.at(
                d.span,
                "`repeat` and `duration` both set: choose one (a count of iterations, or a time)",
            );
        }
        if let (Some(_), Some(s)) = (&self.repeat, &self.stages) {
            errors.at(s.span, "`stages` set the run's length: remove `repeat`");
        }
        if let (Some(_), Some(s)) = (&self.duration, &self.stages) {
            errors.at(s.span, "`stages` set the run's length: remove `duration`");
        }
        if let (Some(w), Some(r), None, None) =
            (&self.workers, &self.repeat, &self.rate, &self.stages)
        {
            if w.value > r.value {
                errors.at(
                    w.span,
                    format!(
                        "`workers = {}` is more than `repeat = {}`: {} workers would never run an iteration",
                        w.value,
                        r.value,
                        w.value - r.value
                    ),
                );
            }
        }
        if let Some(r) = &self.rate {
            if r.value == 0.0 && self.stages.is_none() {
                errors.at(
                    r.span,
                    "`rate = 0` would start nothing; give a positive rate (a ramp from 0 takes `stages = [...]`)",
                );
            }
            if let Some(rep) = &self.repeat {
                errors.at(
                    rep.span,
                    "`repeat` does not apply with `rate`: an open-model run lasts a time (`duration` or `stages`), \
                     and the rate decides how many iterations start",
                );
            } else if self.duration.is_none() && self.stages.is_none() {
                errors.at(r.span, "`rate` needs `duration = \"...\"` or `stages = [...]`: how long to keep that rate?");
            }
        }
        if let Some(p) = &self.profile {
            if self.rate.is_none() || self.duration.is_none() {
                errors.at(p.span, "`profile` scales `rate` over `duration`: set both, e.g. `rate = 100, duration = \"1m\"`");
            }
            if let Some(s) = &self.stages {
                errors.at(
                    s.span,
                    "`profile` and `stages` both shape the load: choose one",
                );
            }
        }
        let warmup = match self.warmup.as_ref().map(|w| w.value) {
            Some(Warmup::Time(w)) => w,
            _ => Duration::ZERO,
        };
        let planned = self.run_length();
        if let (Some(t), Some(run)) = (&self.timeout, planned) {
            if t.value <= run + warmup {
                errors.at(
                    t.span,
                    format!(
                        "`timeout` ({}) is not longer than the planned run ({}, warm-up included): \
                         the test could never finish",
                        format_duration(t.value),
                        format_duration(run + warmup)
                    ),
                );
            }
        }
        if let (Some(t), Some(it)) = (&self.timeout, &self.iteration_timeout) {
            if it.value > t.value {
                errors.at(
                    it.span,
                    "`iteration_timeout` is longer than the whole test's `timeout`",
                );
            }
        }
        for t in &self.thresholds {
            let open_only = matches!(t.value.metric, Metric::Dropped | Metric::DroppedRate);
            if open_only && self.rate.is_none() {
                errors.at(
                    t.span,
                    format!(
                        "`{}` counts iterations that found no free worker at their scheduled start: \
                         it needs an open-model run (`rate = ...`)",
                        t.value.metric
                    ),
                );
            }
            if let (Some(w), Some(run)) = (t.value.window, planned) {
                if w > run {
                    errors.at(
                        t.span,
                        format!(
                            "window `per \"{}\"` is longer than the run ({}): no full window would ever be checked",
                            format_duration(w),
                            format_duration(run)
                        ),
                    );
                }
            }
        }
        if self.baseline.is_none() {
            if let Some(r) = self.regressions.first() {
                errors.at(
                    r.span,
                    "a regression budget compares with a baseline: add `baseline = \"v1.0.0\"` \
                     (PERF_BASELINE can then switch the version)",
                );
            }
        }
        let specs: Vec<ThresholdSpec> = self.thresholds.iter().map(|t| t.value).collect();
        for (index, message) in check_consistency(&specs) {
            errors.at(self.thresholds[index].span, message);
        }
    }
}

impl Config {
    /// `repeat = "auto"` and its cap: a closed-model run without stages,
    /// with a threshold the looks can settle.
    fn check_auto(&self, errors: &mut Errors) {
        if let (Some(b), true) = (&self.batch, self.rate.is_some()) {
            errors.at(
                b.span,
                "`batch` is for the closed model: an open-model iteration is timed from its own scheduled start",
            );
        }
        let Some(auto) = &self.auto else {
            if let Some(m) = &self.max_repeat {
                errors.at(
                    m.span,
                    "`max_repeat` caps `repeat = \"auto\"`: with a fixed count, `repeat` says how many",
                );
            }
            return;
        };
        if self.rate.is_some() || self.stages.is_some() {
            errors.at(
                auto.span,
                "`repeat = \"auto\"` is for closed-model runs without `stages`: an open-model or staged run's length is its time",
            );
        }
        let settled = self.thresholds.iter().any(|t| t.value.judged_by_looks());
        if !settled {
            errors.at(
                auto.span,
                "`repeat = \"auto\"` iterates until every threshold is conclusive: add a threshold it can settle \
                 (a percentile, the mean, a rate or throughput over the whole run), e.g. `p95 < \"200ms\"`",
            );
        }
    }
}

/// `batch`: `"auto"` (0), `"off"` (1) or a number of iterations per
/// sample, at most [`perf_spec::MAX_BATCH`].
fn batch_lit(value: &Lit, errors: &mut Errors) -> Option<u64> {
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

fn profile_lit(value: &Lit, errors: &mut Errors) -> Option<Profile> {
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

fn gate_lit(value: &Lit, errors: &mut Errors) -> Option<String> {
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

fn is_version_name(s: &str) -> bool {
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

/// A threshold on `metric` as a user would write it, with a limit of the
/// right kind (`leaks == 0`, `error_rate < 0.01`, `p95 < "200ms"`).
fn threshold_example(metric: Metric, name: &str) -> String {
    match (metric, metric.kind()) {
        (Metric::Leaks, _) => format!("{name} == 0"),
        (_, MetricKind::Latency) => format!("{name} < \"200ms\""),
        (_, MetricKind::Fraction) => format!("{name} < 0.01"),
        (_, MetricKind::PassRate) => format!("{name} > 0.99"),
        (_, MetricKind::PerSecond) => format!("{name} > 100"),
        (_, MetricKind::Bytes) => format!("{name} < \"4KiB\""),
        (_, MetricKind::Count | MetricKind::Value) => format!("{name} <= 3"),
    }
}

fn unknown_key_message(name: &str) -> String {
    if let Some((_, new)) = RENAMED.iter().find(|(old, _)| *old == name) {
        return format!("unknown key `{name}`; did you mean `{new}`?");
    }
    if let Some(metric) = Metric::from_name(name) {
        return format!(
            "`{name}` is a threshold, not a setting: write e.g. `{}`",
            threshold_example(metric, name)
        );
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
