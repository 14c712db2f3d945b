//! Code generation: the checked function becomes a `#[test]` that calls the
//! runtime's builder, so the attribute and the programmatic API share one
//! implementation.

use proc_macro2::{Literal, TokenStream};
use quote::{format_ident, quote, quote_spanned, ToTokens};
use syn::spanned::Spanned;
use syn::{Attribute, FnArg, ItemFn, Type};

use crate::parse::{parse_config, Config, Errors, Warmup};

/// How the iteration function takes its context.
enum CtxParam {
    None,
    ByValue,
    ByRef,
}

pub(crate) fn perf_test(args: TokenStream, item: TokenStream) -> TokenStream {
    let func: ItemFn = match syn::parse2(item.clone()) {
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
    let ctx = check_signature(&func, &mut errors);
    match (errors.into_result(), config, ctx) {
        (Ok(()), Some(config), Some(ctx)) => generate(func, &config, ctx),
        (result, _, _) => fallback(func, result.err()),
    }
}

fn is_test_attr(attr: &Attribute) -> bool {
    attr.path()
        .segments
        .last()
        .is_some_and(|s| s.ident == "test")
}

/// Checks the function's form; `None` if it cannot be a perf test.
fn check_signature(func: &ItemFn, all_errors: &mut Errors) -> Option<CtxParam> {
    let mut errors = Errors::default();
    let sig = &func.sig;
    if sig.asyncness.is_none() {
        errors.at(
            sig.fn_token.span,
            "#[perf_test] needs an `async fn`: write `async fn` (the body is one iteration)",
        );
    }
    if !sig.generics.params.is_empty() || sig.generics.where_clause.is_some() {
        errors.at(sig.generics.span(), "a perf test cannot be generic: it is run by the test harness, which has no type to give it");
    }
    if let Some(v) = &sig.variadic {
        errors.at(v.span(), "a perf test cannot be variadic");
    }
    let mut ctx = CtxParam::None;
    for (i, input) in sig.inputs.iter().enumerate() {
        match input {
            FnArg::Receiver(r) => errors.at(r.span(), "a perf test cannot take `self`: write a free `async fn`"),
            FnArg::Typed(pat) if i > 0 => errors.at(
                pat.span(),
                "a perf test takes at most one parameter, the context: `ctx: Ctx` or `ctx: &Ctx`",
            ),
            FnArg::Typed(pat) => match ctx_param(&pat.ty) {
                Some(form) => ctx = form,
                None => errors.at(
                    pat.ty.span(),
                    "the only parameter a perf test takes is the context: `ctx: perf_runtime::Ctx` or `ctx: &perf_runtime::Ctx`",
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
    ok.then_some(ctx)
}

fn ctx_param(ty: &Type) -> Option<CtxParam> {
    match ty {
        Type::Path(p) if p.qself.is_none() && p.path.segments.last()?.ident == "Ctx" => {
            Some(CtxParam::ByValue)
        }
        Type::Reference(r) if r.mutability.is_none() && r.lifetime.is_none() => {
            match ctx_param(&r.elem)? {
                CtxParam::ByValue => Some(CtxParam::ByRef),
                _ => None,
            }
        }
        Type::Paren(p) => ctx_param(&p.elem),
        _ => None,
    }
}

/// On error: the function as written (minus test attributes, which would
/// add errors of their own) plus every error, so IDEs keep working.
fn fallback(mut func: ItemFn, error: Option<syn::Error>) -> TokenStream {
    func.attrs.retain(|a| !is_test_attr(a));
    let errors = error.map(|e| e.to_compile_error());
    quote! {
        #[allow(dead_code, unused_variables)]
        #func
        #errors
    }
}

fn is_lint_attr(attr: &Attribute) -> bool {
    ["allow", "warn", "deny", "forbid", "expect"]
        .iter()
        .any(|l| attr.path().is_ident(l))
}

fn generate(func: ItemFn, config: &Config, ctx: CtxParam) -> TokenStream {
    let krate = config
        .krate
        .as_ref()
        .map_or_else(|| quote!(::perf_runtime), |p| p.to_token_stream());
    let rt = quote!(#krate::__private);
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

    let mut setters = Vec::new();
    let u64_lit = |n: u64| Literal::u64_suffixed(n);
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
    if let Some(stages) = &config.stages {
        for stage in &stages.value {
            let (d, t) = (dur(stage.duration), Literal::f64_suffixed(stage.target));
            setters.push(quote_spanned!(stages.span=> .stage(#d, #t)));
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
    if let Some(b) = &config.baseline {
        let v = &b.value;
        setters.push(quote_spanned!(b.span=> .baseline(#v)));
    }
    for r in &config.regressions {
        let budget = Literal::f64_suffixed(r.value.1);
        setters.push(match r.value.0 {
            None => quote_spanned!(r.span=> .regression_all(#budget)),
            Some(perf_spec::Metric::Percentile(p)) => {
                let p = Literal::f64_suffixed(p.value());
                quote_spanned!(r.span=> .regression(#rt::Metric::Percentile(#rt::percentile(#p)), #budget))
            }
            Some(other) => {
                let variant = format_ident!("{}", format!("{other:?}"));
                quote_spanned!(r.span=> .regression(#rt::Metric::#variant, #budget))
            }
        });
    }
    if let Some(a) = &config.abort_on_fail {
        let v = dur(a.value);
        setters.push(quote_spanned!(a.span=> .abort_on_fail(#v)));
    }
    for t in &config.thresholds {
        let spec = t.value;
        let metric = match spec.metric {
            perf_spec::Metric::Percentile(p) => {
                let p = Literal::f64_suffixed(p.value());
                quote!(#rt::Metric::Percentile(#rt::percentile(#p)))
            }
            other => {
                let variant = format_ident!("{}", format!("{other:?}"));
                quote!(#rt::Metric::#variant)
            }
        };
        let op = format_ident!("{}", format!("{:?}", spec.op));
        let limit = Literal::f64_suffixed(spec.limit);
        let window = match spec.window {
            None => quote!(::core::option::Option::None),
            Some(w) => {
                let w = dur(w);
                quote!(::core::option::Option::Some(#w))
            }
        };
        setters.push(
            quote_spanned!(t.span=> .threshold(#rt::Threshold::from_spec(#rt::ThresholdSpec {
                metric: #metric, op: #rt::Op::#op, limit: #limit, window: #window,
            }))),
        );
    }

    let call = match ctx {
        CtxParam::None => quote!(|_: #rt::Ctx| #name()),
        CtxParam::ByValue => quote!(#name),
        CtxParam::ByRef => quote!(|ctx: #rt::Ctx| async move { #name(&ctx).await }),
    };
    let inner_sig = &sig;
    quote! {
        #(#test_attrs)*
        #[::core::prelude::v1::test]
        #vis fn #name() {
            #(#lint_attrs)*
            #inner_sig #block

            #rt::run_test(
                #rt::PerfTest::__from_macro(
                    ::core::module_path!(),
                    ::core::stringify!(#name),
                    ::core::cfg!(debug_assertions),
                )
                #(#setters)*,
                #call,
            )
        }
    }
}
