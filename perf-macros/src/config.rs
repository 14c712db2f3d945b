//! The checked configuration: each setting validated and stored with its
//! span (a "set once" helper rejects repeats), then the combination
//! checked, and a case's overrides merged on top.

use std::time::Duration;

use perf_spec::{
    check_consistency, closest, format_duration, stages_duration, Metric, MetricKind,
    ThresholdSpec, METRIC_NAMES,
};
use syn::spanned::Spanned as _;
use syn::{Ident, Lit};

use crate::parse::{Config, Errors, Spanned, Value, Warmup, KEYS, RENAMED};
use crate::values::{
    batch_lit, bounded_int, duration_lit, gate_lit, is_number, is_version_name, number,
    positive_duration, positive_int, profile_lit, rate_lit, stages_value,
};

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
