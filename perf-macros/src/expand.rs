//! Code generation: the checked function becomes a `#[test]` (or, with
//! `#[case]`s, a module of tests, see [`crate::cases`]) that calls the
//! runtime's builder, so the attribute and the programmatic API share one
//! implementation.

use proc_macro2::{Literal, TokenStream};
use quote::{format_ident, quote, quote_spanned, ToTokens};
use syn::spanned::Spanned;
use syn::{Attribute, FnArg, GenericArgument, ItemFn, PathArguments, ReturnType, Type};

use crate::cases::{self, Case};
use crate::parse::{parse_config, Config, Errors, Warmup};

/// How the iteration function takes its context.
#[derive(Clone, Copy)]
pub(crate) enum CtxForm {
    ByValue,
    ByRef,
}

/// One parameter of the iteration function.
pub(crate) enum Param {
    Ctx(CtxForm),
    /// A case argument of this type.
    Value(Box<Type>),
    /// `&S`: the state `setup` made.
    State,
    /// `&W`: this worker's state, which `per_worker` made.
    Worker,
}

/// What the iteration function returns.
pub(crate) enum Ret {
    Unit,
    /// `Result<T, E>`: an `Err` is an error; `T` is compared with a case's
    /// expected output.
    Result(Box<Type>),
    /// Any other type, compared with a case's expected output.
    Value(Box<Type>),
}

/// The function's shape, once checked.
pub(crate) struct Shape {
    pub(crate) params: Vec<Param>,
    pub(crate) ret: Ret,
}

impl Shape {
    /// Parameters a case gives arguments for.
    pub(crate) fn value_params(&self) -> usize {
        self.params
            .iter()
            .filter(|p| matches!(p, Param::Value(_)))
            .count()
    }
}

pub(crate) fn perf_test(args: TokenStream, item: TokenStream) -> TokenStream {
    let mut func: ItemFn = match syn::parse2(item.clone()) {
        Ok(f) => f,
        Err(e) => {
            // Not a function at all: keep the item so that the only error is ours.
            let error =
                syn::Error::new(e.span(), "#[perf_test] goes on an `async fn`").to_compile_error();
            return quote!(#item #error);
        }
    };
    let mut errors = Errors::default();
    let config = parse_config(args).map_err(|e| errors.push(e)).ok();
    let cases = cases::take_cases(&mut func, &mut errors);
    let stateful = config.as_ref().map_or((false, false), |c| {
        (c.setup.is_some(), c.per_worker.is_some())
    });
    if let (Some(setup), false) = (
        config.as_ref().and_then(|c| c.setup.as_ref()),
        cases.is_empty(),
    ) {
        errors.at(
            setup.span,
            "`setup` with #[case] is not supported yet: give the cases' common state through a `static` or `LazyLock`",
        );
    }
    let shape = check_signature(&func, !cases.is_empty(), stateful, &mut errors);
    let cases = match (&config, &shape) {
        (Some(config), Some(shape)) => {
            cases::check(cases, config, shape, &func.sig.ident, &mut errors)
        }
        _ => Vec::new(),
    };
    match (errors.into_result(), config, shape) {
        (Ok(()), Some(config), Some(shape)) if !cases.is_empty() => {
            cases::generate(func, &config, &shape, &cases)
        }
        (Ok(()), Some(config), Some(shape)) => generate(func, &config, &shape),
        (result, _, _) => fallback(func, result.err()),
    }
}

fn is_test_attr(attr: &Attribute) -> bool {
    attr.path()
        .segments
        .last()
        .is_some_and(|s| s.ident == "test")
}

pub(crate) fn is_lint_attr(attr: &Attribute) -> bool {
    ["allow", "warn", "deny", "forbid", "expect"]
        .iter()
        .any(|l| attr.path().is_ident(l))
}

/// Checks the function's form; `None` if it cannot be a perf test.
fn check_signature(
    func: &ItemFn,
    has_cases: bool,
    (setup, per_worker): (bool, bool),
    all_errors: &mut Errors,
) -> Option<Shape> {
    let mut errors = Errors::default();
    let sig = &func.sig;
    if sig.asyncness.is_none() {
        errors.at(
            sig.fn_token.span,
            "#[perf_test] needs an `async fn`: write `async fn` (the body is one iteration)",
        );
    }
    if !sig.generics.params.is_empty() || sig.generics.where_clause.is_some() {
        errors.at(
            sig.generics.span(),
            "a perf test cannot be generic: it is run by the test harness, which has no type to give it",
        );
    }
    if let Some(v) = &sig.variadic {
        errors.at(v.span(), "a perf test cannot be variadic");
    }
    let mut params = Vec::new();
    for input in &sig.inputs {
        match input {
            FnArg::Receiver(r) => errors.at(r.span(), "a perf test cannot take `self`: write a free `async fn`"),
            FnArg::Typed(pat) => match (ctx_param(&pat.ty), has_cases) {
                (Some(_), _) if params.iter().any(|p| matches!(p, Param::Ctx(_))) => {
                    errors.at(pat.span(), "a perf test takes the context once");
                }
                (Some(form), _) => params.push(Param::Ctx(form)),
                (None, true) => params.push(Param::Value(pat.ty.clone())),
                (None, false) if setup => {
                    let taken = |p: &Param| params.iter().any(|q| std::mem::discriminant(q) == std::mem::discriminant(p));
                    let next = if !taken(&Param::State) {
                        Some(Param::State)
                    } else if per_worker && !taken(&Param::Worker) {
                        Some(Param::Worker)
                    } else {
                        None
                    };
                    match (next, &*pat.ty) {
                        (Some(p), Type::Reference(r)) if r.mutability.is_none() => params.push(p),
                        (Some(_), _) => errors.at(
                            pat.ty.span(),
                            "the state `setup` (or `per_worker`) makes is shared by the iterations: take it by reference, `&State`",
                        ),
                        (None, _) => errors.at(
                            pat.span(),
                            "a perf test with a `setup` takes the context, `&State` and (with `per_worker`) `&WorkerState`",
                        ),
                    }
                }
                (None, false) if matches!(&*pat.ty, Type::Reference(r) if r.mutability.is_none()) => {
                    let ty = &pat.ty;
                    errors.at(
                        pat.ty.span(),
                        format!(
                            "a perf test takes `{}` only from a `setup = …` that makes the state, and this test has no `setup` \
                             (a misspelt key?); without one, its only parameter is the context, `ctx: perf_runtime::Ctx`",
                            quote::quote!(#ty).to_string().replace("& ", "&").replace(" :: ", "::")
                        ),
                    );
                }
                (None, false) if !params.is_empty() => errors.at(
                    pat.span(),
                    "a perf test takes at most one parameter, the context: `ctx: Ctx` or `ctx: &Ctx` \
                     (or add #[case(...)] attributes to give it arguments)",
                ),
                (None, false) => errors.at(
                    pat.ty.span(),
                    "the only parameter a perf test takes is the context: `ctx: perf_runtime::Ctx` or \
                     `ctx: &perf_runtime::Ctx` (or add #[case(...)] attributes to give it arguments)",
                ),
            },
        }
    }
    for attr in &func.attrs {
        if is_test_attr(attr) {
            errors.at(
                attr.span(),
                "#[perf_test] already makes this a test (on its own tokio runtime): remove this test attribute",
            );
        }
    }
    let ok = errors.is_empty();
    all_errors.append(errors);
    ok.then(|| Shape {
        params,
        ret: return_shape(&sig.output),
    })
}

fn ctx_param(ty: &Type) -> Option<CtxForm> {
    match ty {
        Type::Path(p) if p.qself.is_none() && p.path.segments.last()?.ident == "Ctx" => {
            Some(CtxForm::ByValue)
        }
        Type::Reference(r) if r.mutability.is_none() && r.lifetime.is_none() => {
            match ctx_param(&r.elem)? {
                CtxForm::ByValue => Some(CtxForm::ByRef),
                CtxForm::ByRef => None,
            }
        }
        Type::Paren(p) => ctx_param(&p.elem),
        _ => None,
    }
}

fn return_shape(output: &ReturnType) -> Ret {
    let ReturnType::Type(_, ty) = output else {
        return Ret::Unit;
    };
    if let Type::Tuple(t) = &**ty {
        if t.elems.is_empty() {
            return Ret::Unit;
        }
    }
    if let Type::Path(p) = &**ty {
        if let Some(last) = p.path.segments.last() {
            if last.ident == "Result" {
                if let PathArguments::AngleBracketed(args) = &last.arguments {
                    if let Some(GenericArgument::Type(ok)) = args.args.first() {
                        return Ret::Result(Box::new(ok.clone()));
                    }
                }
            }
        }
    }
    Ret::Value(ty.clone())
}

/// On error: the function as written (minus test and case attributes,
/// which would add errors of their own) plus every error, so IDEs keep
/// working.
fn fallback(mut func: ItemFn, error: Option<syn::Error>) -> TokenStream {
    func.attrs.retain(|a| !is_test_attr(a));
    let errors = error.map(|e| e.to_compile_error());
    quote! {
        #[allow(dead_code, unused_variables)]
        #func
        #errors
    }
}

/// `::perf_runtime::__private`, or the `crate = "…"` path's.
pub(crate) fn runtime_path(config: &Config) -> TokenStream {
    let krate = config
        .krate
        .as_ref()
        .map_or_else(|| quote!(::perf_runtime), |p| p.to_token_stream());
    quote!(#krate::__private)
}

/// `.expect_failure()` for a `#[should_panic]` test, whose summary then
/// says it failed as expected.
pub(crate) fn expects_failure(test_attrs: &[syn::Attribute]) -> Option<TokenStream> {
    test_attrs
        .iter()
        .any(|a| a.path().is_ident("should_panic"))
        .then(|| quote!(.expect_failure()))
}

/// The builder calls for a configuration.
pub(crate) fn setters(config: &Config, rt: &TokenStream) -> Vec<TokenStream> {
    let mut setters = Vec::new();
    let u64_lit = Literal::u64_suffixed;
    let usize_lit = |n: u64| Literal::usize_suffixed(n as usize);
    let dur = |d: std::time::Duration| {
        let ns = Literal::u64_suffixed(d.as_nanos() as u64);
        quote!(#rt::Duration::from_nanos(#ns))
    };
    if let Some(w) = &config.workers {
        let v = usize_lit(w.value);
        setters.push(quote_spanned!(w.span=> .workers(#v)));
    }
    if let Some(r) = &config.repeat {
        let v = u64_lit(r.value);
        setters.push(quote_spanned!(r.span=> .repeat(#v)));
    }
    if let Some(m) = &config.max_repeat {
        let v = u64_lit(m.value);
        setters.push(quote_spanned!(m.span=> .max_repeat(#v)));
    }
    if let Some(e) = &config.exclusive {
        let v = e.value;
        setters.push(quote_spanned!(e.span=> .exclusive(#v)));
    }
    if let Some(b) = &config.batch {
        let v = match b.value {
            0 => quote!(#rt::Batch::Auto),
            1 => quote!(#rt::Batch::Off),
            k => {
                let k = u64_lit(k);
                quote!(#rt::Batch::Fixed(#k))
            }
        };
        setters.push(quote_spanned!(b.span=> .batch(#v)));
    }
    if let Some(a) = &config.auto {
        setters.push(quote_spanned!(a.span=> .repeat_auto()));
    }
    if let Some(d) = &config.duration {
        let v = dur(d.value);
        setters.push(quote_spanned!(d.span=> .duration(#v)));
    }
    if let Some(w) = &config.warmup {
        let v = match w.value {
            Warmup::Iterations(n) => {
                let n = u64_lit(n);
                quote!(#rt::Warmup::Iterations(#n))
            }
            Warmup::Time(d) => {
                let d = dur(d);
                quote!(#rt::Warmup::Time(#d))
            }
        };
        setters.push(quote_spanned!(w.span=> .warmup(#v)));
    }
    if let Some(t) = &config.timeout {
        let v = dur(t.value);
        setters.push(quote_spanned!(t.span=> .timeout(#v)));
    }
    if let Some(t) = &config.iteration_timeout {
        let v = dur(t.value);
        setters.push(quote_spanned!(t.span=> .iteration_timeout(#v)));
    }
    if let Some(t) = &config.worker_threads {
        let v = usize_lit(t.value);
        setters.push(quote_spanned!(t.span=> .worker_threads(#v)));
    }
    if let Some(r) = &config.rate {
        let v = Literal::f64_suffixed(r.value);
        setters.push(quote_spanned!(r.span=> .rate(#v)));
    }
    if let Some(c) = &config.capacity {
        let f = Literal::f64_suffixed;
        let hold = dur(c.value.hold);
        let (step, precision, warmup) = (f(c.value.step), f(c.value.precision), f(c.value.warmup));
        let search = match c.value.axis {
            perf_spec::CapacityAxis::Rate => {
                let (lo, hi) = (f(c.value.low), f(c.value.high));
                quote!(#rt::Capacity::rate(#lo..=#hi))
            }
            perf_spec::CapacityAxis::Workers => {
                let u = |v: f64| Literal::u32_suffixed(v as u32);
                let (lo, hi) = (u(c.value.low), u(c.value.high));
                quote!(#rt::Capacity::workers(#lo..=#hi))
            }
        };
        setters.push(quote_spanned!(c.span=> .capacity(
            #search.hold(#hold).step(#step).precision(#precision).warmup(#warmup)
        )));
    }
    if let Some(stages) = &config.stages {
        for stage in &stages.value {
            let (d, t) = (dur(stage.duration), Literal::f64_suffixed(stage.target));
            setters.push(match stage.name {
                Some(name) => quote_spanned!(stages.span=> .named_stage(#name, #d, #t)),
                None => quote_spanned!(stages.span=> .stage(#d, #t)),
            });
        }
    }
    if let Some(p) = &config.profile {
        let v = format_ident!("{}", format!("{:?}", p.value));
        setters.push(quote_spanned!(p.span=> .profile(#rt::Profile::#v)));
    }
    if let Some(g) = &config.gate {
        let v = &g.value;
        setters.push(quote_spanned!(g.span=> .gate(#v)));
    }
    if let Some(n) = &config.runs {
        let v = n.value as u32;
        setters.push(quote_spanned!(n.span=> .runs(#v)));
    }
    if let Some(c) = &config.confidence {
        let v = Literal::f64_suffixed(c.value);
        setters.push(quote_spanned!(c.span=> .confidence(#v)));
    }
    if let Some(p) = &config.inconclusive {
        let v = format_ident!("{}", format!("{:?}", p.value));
        setters.push(quote_spanned!(p.span=> .inconclusive(#rt::Inconclusive::#v)));
    }
    if let Some(b) = &config.baseline {
        let v = &b.value;
        setters.push(quote_spanned!(b.span=> .baseline(#v)));
    }
    if let Some(p) = &config.publish {
        let v = &p.value;
        setters.push(quote_spanned!(p.span=> .publish_targets(#v)));
    }
    if let Some(c) = &config.cpu_profile {
        let hz = u32::try_from(c.value).unwrap_or(perf_spec::MAX_PROFILE_HZ);
        setters.push(quote_spanned!(c.span=> .cpu_profile_hz(#hz)));
    }
    if let Some(h) = &config.heap_profile {
        let rate = h.value;
        setters.push(quote_spanned!(h.span=> .heap_profile_rate(#rate)));
    }
    if let Some(m) = &config.monitor {
        let v = &m.value;
        setters.push(quote_spanned!(m.span=> .monitor_targets(#v)));
    }
    if let Some(n) = &config.namespace {
        let v = &n.value;
        setters.push(quote_spanned!(n.span=> .namespace(#v)));
    }
    for r in &config.regressions {
        let budget = Literal::f64_suffixed(r.value.1);
        setters.push(match r.value.0 {
            None => quote_spanned!(r.span=> .regression_all(#budget)),
            Some(m) => {
                let metric = metric_tokens(m, rt);
                quote_spanned!(r.span=> .regression(#metric, #budget))
            }
        });
    }
    if let Some(a) = &config.abort_on_fail {
        let v = dur(a.value);
        setters.push(quote_spanned!(a.span=> .abort_on_fail(#v)));
    }
    if let Some(sla) = &config.sla {
        let path = &sla.value;
        setters.push(quote_spanned!(path.span()=> .sla(&#path)));
    }
    for t in &config.thresholds {
        let spec = t.value;
        let metric = metric_tokens(spec.metric, rt);
        let op = format_ident!("{}", format!("{:?}", spec.op));
        let limit = Literal::f64_suffixed(spec.limit);
        let opt = |v: Option<&str>| match v {
            None => quote!(::core::option::Option::None),
            Some(t) => quote!(::core::option::Option::Some(#t)),
        };
        let (tag, phase, relative_to) = (opt(spec.tag), opt(spec.phase), opt(spec.relative_to));
        let window = match spec.window {
            None => quote!(::core::option::Option::None),
            Some(w) => {
                let w = dur(w);
                quote!(::core::option::Option::Some(#w))
            }
        };
        setters.push(
            quote_spanned!(t.span=> .threshold(#rt::Threshold::from_spec(#rt::ThresholdSpec {
                metric: #metric, op: #rt::Op::#op, limit: #limit, window: #window, tag: #tag,
                phase: #phase, relative_to: #relative_to,
            }))),
        );
    }
    setters
}

fn metric_tokens(metric: perf_spec::Metric, rt: &TokenStream) -> TokenStream {
    match metric {
        perf_spec::Metric::Percentile(p) => {
            let p = Literal::f64_suffixed(p.value());
            quote!(#rt::Metric::Percentile(#rt::percentile(#p)))
        }
        perf_spec::Metric::Recovery(p) => {
            let p = Literal::f64_suffixed(p.value());
            quote!(#rt::Metric::Recovery(#rt::percentile(#p)))
        }
        perf_spec::Metric::ClassRate(class) => quote!(#rt::Metric::ClassRate(#class)),
        perf_spec::Metric::Checks(None) => {
            quote!(#rt::Metric::Checks(::core::option::Option::None))
        }
        perf_spec::Metric::Checks(Some(name)) => {
            quote!(#rt::Metric::Checks(::core::option::Option::Some(#name)))
        }
        perf_spec::Metric::Cpu(process) | perf_spec::Metric::PeakRss(process) => {
            let variant = if matches!(metric, perf_spec::Metric::Cpu(_)) {
                format_ident!("Cpu")
            } else {
                format_ident!("PeakRss")
            };
            let process = match process {
                Some(p) => quote!(::core::option::Option::Some(#p)),
                None => quote!(::core::option::Option::None),
            };
            quote!(#rt::Metric::#variant(#process))
        }
        perf_spec::Metric::Custom {
            name,
            stat,
            duration,
        } => {
            let stat = match stat {
                perf_spec::Stat::Percentile(p) => {
                    let p = Literal::f64_suffixed(p.value());
                    quote!(#rt::Stat::Percentile(#rt::percentile(#p)))
                }
                other => {
                    let variant = format_ident!("{}", format!("{other:?}"));
                    quote!(#rt::Stat::#variant)
                }
            };
            quote!(#rt::Metric::Custom { name: #name, stat: #stat, duration: #duration })
        }
        other => {
            let variant = format_ident!("{}", format!("{other:?}"));
            quote!(#rt::Metric::#variant)
        }
    }
}

/// The iteration closure: calls the function with the context and the case
/// arguments (`__arg0`, … cloned per iteration), then checks the output
/// against `expected` and `validate`, if any.
pub(crate) fn iteration(
    name: &syn::Ident,
    shape: &Shape,
    config: &Config,
    case: Option<&Case>,
    rt: &TokenStream,
) -> TokenStream {
    let mut clones = Vec::new();
    let mut args = Vec::new();
    let mut value_index = 0usize;
    for p in &shape.params {
        match p {
            Param::Ctx(CtxForm::ByValue) => args.push(quote!(__ctx)),
            Param::Ctx(CtxForm::ByRef) => args.push(quote!(&__ctx)),
            Param::State => args.push(quote!(&*__state)),
            Param::Worker => args.push(quote!(&*__worker)),
            Param::Value(_) => {
                let arg = format_ident!("__arg{}", value_index);
                clones.push(quote!(let #arg = ::core::clone::Clone::clone(&#arg);));
                args.push(quote!(#arg));
                value_index += 1;
            }
        }
    }
    let expected = case.is_some_and(|c| c.expected.is_some());
    let checks = expected || config.validate.is_some();
    if expected {
        clones.push(quote!(let __expected = ::core::clone::Clone::clone(&__expected);));
    }
    let call = quote!(#name(#(#args),*).await);
    let body = if checks {
        let unwrap = match shape.ret {
            Ret::Result(_) => quote! {
                let __out = match __out {
                    ::core::result::Result::Ok(v) => v,
                    ::core::result::Result::Err(e) => {
                        return ::core::result::Result::Err(::std::format!("{:?}", e));
                    }
                };
            },
            _ => quote!(),
        };
        let validate = config.validate.as_ref().map(|v| {
            let path = &v.value;
            quote_spanned!(path.span()=> #rt::Validation::into_validation(#path(&__out))?;)
        });
        let compare = case.filter(|c| c.expected.is_some()).map(|c| {
            let case_name = &c.name;
            quote!(#rt::check_expected(#case_name, __out, &*__expected)?;)
        });
        quote! {
            let __out = #call;
            let __checked = (move || -> ::core::result::Result<(), ::std::string::String> {
                #unwrap
                #validate
                #compare
                ::core::result::Result::Ok(())
            })();
            __checked.map_err(#rt::CheckFailed)
        }
    } else if let Ret::Value(_) = shape.ret {
        // `()`, `Result` or an alias of it is the outcome; any other value
        // is a success, black-boxed (decided at compile time by autoref).
        quote! {
            let __out = #call;
            #[allow(unused_imports)]
            use #rt::{OutcomeKind as _, ValueKind as _};
            #[allow(clippy::needless_borrow)]
            let __kind = (&&#rt::Output(&__out)).kind();
            __kind.outcome(__out)
        }
    } else {
        call
    };
    let state_params = match (&config.setup, &config.per_worker) {
        (None, _) => quote!(),
        (Some(_), None) => quote!(, __state: ::std::sync::Arc<_>),
        (Some(_), Some(_)) => quote!(, __state: ::std::sync::Arc<_>, __worker: ::std::sync::Arc<_>),
    };
    quote! {
        move |__ctx: #rt::Ctx #state_params| {
            #(#clones)*
            async move { #body }
        }
    }
}

/// A compile-time warning (a `#[deprecated]` call, an error under
/// `#![deny(deprecated)]` or `-D warnings`) for each whole-run percentile
/// threshold the attribute's fixed iteration count cannot estimate at all:
/// fewer than 10 samples expected beyond it (`p999 < …` with
/// `repeat = 2000`). A count set at run time gets the run-time note.
pub(crate) fn sample_size_warnings(
    config: &Config,
    rt: &TokenStream,
    lints: &[Attribute],
) -> Vec<TokenStream> {
    let Some(repeat) = config.repeat.as_ref().filter(|_| config.duration.is_none()) else {
        return Vec::new();
    };
    config
        .thresholds
        .iter()
        .filter(|t| t.value.window.is_none() && t.value.tag.is_none())
        .filter(|t| match t.value.metric {
            perf_spec::Metric::Percentile(p) => {
                perf_spec::too_few_beyond(p.value(), repeat.value).is_some()
            }
            _ => false,
        })
        // Beside the test, not in it: a `#[test]` function is compiled
        // only by `cargo test`, and the warning is for every build.
        // The function's own lint attributes (`#[allow(deprecated)]`) apply.
        .map(|t| quote_spanned! {t.span=> #(#lints)* const _: () = #rt::too_few_samples_for_this_percentile(); })
        .collect()
}

fn generate(func: ItemFn, config: &Config, shape: &Shape) -> TokenStream {
    let rt = runtime_path(config);
    let ItemFn {
        attrs,
        vis,
        sig,
        block,
    } = func;
    let name = &sig.ident;
    // Lints written on the function are about its body: they go on the inner
    // function; everything else (docs, #[should_panic], #[ignore], #[cfg])
    // stays on the test.
    let (lint_attrs, test_attrs): (Vec<_>, Vec<_>) = attrs.into_iter().partition(is_lint_attr);
    let mut setters = setters(config, &rt);
    setters.extend(expects_failure(&test_attrs));
    let (stages, runner) = stages(config, &rt);
    let call = iteration(name, shape, config, None, &rt);
    let warnings = sample_size_warnings(config, &rt, &lint_attrs);
    quote! {
        #(#warnings)*
        #(#test_attrs)*
        #[::core::prelude::v1::test]
        #vis fn #name() {
            #(#lint_attrs)*
            #sig #block

            #runner(
                #rt::new_test(
                    ::core::module_path!(),
                    ::core::stringify!(#name),
                    ::core::cfg!(debug_assertions),
                )
                #(#setters)*
                #(#stages)*,
                #call,
            )
        }
    }
}

/// The calls that add `setup`, `teardown` and `per_worker` to the test,
/// and the runner that takes what they make.
fn stages(config: &Config, rt: &TokenStream) -> (Vec<TokenStream>, TokenStream) {
    let Some(setup) = &config.setup else {
        return (Vec::new(), quote!(#rt::run_test));
    };
    let path = &setup.value;
    let mut calls = vec![quote_spanned!(path.span()=> .setup(#path))];
    if let Some(t) = &config.teardown {
        let path = &t.value;
        calls.push(quote_spanned!(path.span()=> .teardown(#path)));
    }
    let runner = match &config.per_worker {
        Some(w) => {
            let path = &w.value;
            calls.push(quote_spanned!(path.span()=> .per_worker(#path)));
            quote!(#rt::run_test_with_workers)
        }
        None => quote!(#rt::run_test_with_setup),
    };
    (calls, runner)
}
