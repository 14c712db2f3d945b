//! `#[case::name(args…)]` on a `#[perf_test]` function (the rstest /
//! test-case idiom): one test per case, in a module named after the
//! function, so that `cargo test put::large` selects one.
//!
//! ```text
//! #[perf_test(repeat = 1000, p95 < "50ms")]
//! #[case::small(100)]
//! #[case::large(10_000; p95 < "200ms", repeat = 100)]   // per-case overrides after `;`
//! #[case(7, 49)]                                          // unnamed: `case_3`; last argument = expected output
//! async fn put(size: usize) -> usize { … }
//! ```

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote};
use syn::parse::{ParseStream, Parser};
use syn::spanned::Spanned;
use syn::{Attribute, Expr, Ident, ItemFn, Token};

use crate::expand::{is_lint_attr, iteration, runtime_path, setters, Param, Ret, Shape};
use crate::parse::{parse_args, Config, Errors};

/// One `#[case]`, parsed.
pub(crate) struct Case {
    /// The test's name: `small`, or `case_3` for the third, unnamed.
    pub(crate) name: String,
    pub(crate) ident: Ident,
    pub(crate) span: Span,
    /// Arguments for the function's parameters, in order.
    pub(crate) args: Vec<Expr>,
    /// The expected output, when one argument more than the parameters was
    /// given.
    pub(crate) expected: Option<Expr>,
    /// Settings and thresholds after `;`.
    pub(crate) overrides: Config,
}

fn is_case(attr: &Attribute) -> bool {
    attr.path()
        .segments
        .first()
        .is_some_and(|s| s.ident == "case")
}

fn parse_case_args(input: ParseStream<'_>) -> syn::Result<(Vec<Expr>, TokenStream)> {
    let mut args = Vec::new();
    while !input.is_empty() && !input.peek(Token![;]) {
        args.push(input.parse::<Expr>()?);
        if input.is_empty() || input.peek(Token![;]) {
            break;
        }
        input.parse::<Token![,]>()?;
    }
    let overrides = if input.peek(Token![;]) {
        input.parse::<Token![;]>()?;
        input.parse::<TokenStream>()?
    } else {
        TokenStream::new()
    };
    Ok((args, overrides))
}

/// Removes the `#[case]` attributes from `func` and parses them.
pub(crate) fn take_cases(func: &mut ItemFn, errors: &mut Errors) -> Vec<Case> {
    let (case_attrs, others): (Vec<_>, Vec<_>) = std::mem::take(&mut func.attrs)
        .into_iter()
        .partition(is_case);
    func.attrs = others;
    let mut cases: Vec<Case> = Vec::new();
    for (i, attr) in case_attrs.iter().enumerate() {
        let segments: Vec<&Ident> = attr.path().segments.iter().map(|s| &s.ident).collect();
        let ident = match segments.as_slice() {
            [_] => format_ident!("case_{}", i + 1),
            [_, name] => (*name).clone(),
            _ => {
                errors.at(
                    attr.path().span(),
                    "write `#[case(…)]` or `#[case::name(…)]`",
                );
                continue;
            }
        };
        // Errors about the case point at its argument list.
        let span = match &attr.meta {
            syn::Meta::List(list) => list.delimiter.span().join(),
            other => other.path().span(),
        };
        let (args, overrides) = match &attr.meta {
            syn::Meta::List(list) => match parse_case_args.parse2(list.tokens.clone()) {
                Ok(parsed) => parsed,
                Err(e) => {
                    errors.push(e);
                    continue;
                }
            },
            syn::Meta::Path(_) => (Vec::new(), TokenStream::new()),
            syn::Meta::NameValue(nv) => {
                errors.at(
                    nv.span(),
                    "write the case's arguments in parentheses: `#[case::name(…)]`",
                );
                continue;
            }
        };
        let overrides = match parse_args(overrides) {
            Ok((config, more)) => {
                errors.append(more);
                config
            }
            Err(e) => {
                errors.push(e);
                continue;
            }
        };
        let name = ident.to_string();
        if cases.iter().any(|c| c.name == name) {
            errors.at(
                ident.span(),
                format!("duplicate case name `{name}`: each case is a test and needs its own name"),
            );
            continue;
        }
        cases.push(Case {
            name,
            ident,
            span,
            args,
            expected: None,
            overrides,
        });
    }
    cases
}

/// Checks each case against the function: argument counts, expected
/// outputs, and the merged configuration.
pub(crate) fn check(
    cases: Vec<Case>,
    config: &Config,
    shape: &Shape,
    function: &Ident,
    errors: &mut Errors,
) -> Vec<Case> {
    let wanted = shape.value_params();
    let mut checked = Vec::new();
    for mut case in cases {
        let given = case.args.len();
        if given == wanted + 1 {
            if matches!(shape.ret, Ret::Unit) {
                errors.at(
                    case.span,
                    format!(
                        "case `{}` gives {given} arguments: one more than `{function}` takes, which would be the \
                         expected output, but `{function}` returns nothing to compare",
                        case.name
                    ),
                );
                continue;
            }
            case.expected = case.args.pop();
        } else if given != wanted {
            errors.at(
                case.span,
                format!(
                    "case `{}` gives {given} argument{}, but `{function}` takes {wanted} (or {} with the expected output)",
                    case.name,
                    if given == 1 { "" } else { "s" },
                    wanted + 1
                ),
            );
            continue;
        }
        let mut merged_errors = Errors::default();
        config
            .merged(&case.overrides)
            .check_combination(&mut merged_errors);
        if !merged_errors.is_empty() {
            errors.append(merged_errors);
            continue;
        }
        checked.push(case);
    }
    if wanted > 0 && checked.is_empty() && errors.is_empty() {
        errors.at(
            function.span(),
            format!("`{function}` takes arguments: give it at least one #[case(…)]"),
        );
    }
    checked
}

/// The module of case tests.
pub(crate) fn generate(
    func: ItemFn,
    config: &Config,
    shape: &Shape,
    cases: &[Case],
) -> TokenStream {
    let rt = runtime_path(config);
    let ItemFn {
        attrs,
        vis,
        sig,
        block,
    } = func;
    let name = &sig.ident;
    // #[cfg] and docs describe the group (the module); lints the body (the
    // function); everything else (#[should_panic], #[ignore]) each test.
    let (module_attrs, rest): (Vec<_>, Vec<_>) = attrs
        .into_iter()
        .partition(|a| a.path().is_ident("cfg") || a.path().is_ident("doc"));
    let (lint_attrs, test_attrs): (Vec<_>, Vec<_>) = rest.into_iter().partition(is_lint_attr);
    let names: Vec<&str> = cases.iter().map(|c| c.name.as_str()).collect();
    let value_types: Vec<&syn::Type> = shape
        .params
        .iter()
        .filter_map(|p| match p {
            Param::Value(t) => Some(&**t),
            Param::Ctx(_) | Param::State | Param::Worker => None,
        })
        .collect();
    let expected_type = match &shape.ret {
        Ret::Result(t) | Ret::Value(t) => Some(&**t),
        Ret::Unit => None,
    };
    let tests = cases.iter().map(|case| {
        let merged = config.merged(&case.overrides);
        let mut setters = setters(&merged, &rt);
        setters.extend(crate::expand::expects_failure(&test_attrs));
        let call = iteration(name, shape, &merged, Some(case), &rt);
        let (ident, case_name) = (&case.ident, &case.name);
        let bindings = case
            .args
            .iter()
            .zip(&value_types)
            .enumerate()
            .map(|(i, (expr, ty))| {
                let arg = format_ident!("__arg{}", i);
                quote!(let #arg: #ty = #expr;)
            });
        // `cargo check` and IDEs do not compile `#[test]` functions: the
        // case's values are type-checked beside them too (in a closure
        // never called), so that a wrong type is an error in every build.
        let typed = case
            .args
            .iter()
            .zip(&value_types)
            .map(|(expr, ty)| quote!(let _: #ty = #expr;))
            .chain(
                case.expected
                    .as_ref()
                    .map(|e| quote!(let _: #expected_type = #e;)),
            );
        let type_check = quote! {
            #[cfg(not(test))]
            const _: () = {
                let _ = || { #(#typed)* };
            };
        };
        let expected = case.expected.as_ref().map(|e| {
            // Typed first, so that a wrong type is reported at the value
            // (not inside `Arc::new`).
            quote! {
                let __expected: #expected_type = #e;
                let __expected = ::std::sync::Arc::new(__expected);
            }
        });
        quote! {
            #type_check
            #(#test_attrs)*
            #[::core::prelude::v1::test]
            pub(super) fn #ident() {
                #(#bindings)*
                #expected
                #rt::run_case(
                    &__PERF_CASES,
                    #case_name,
                    #rt::new_test(
                        ::core::module_path!(),
                        #case_name,
                        ::core::cfg!(debug_assertions),
                    )
                    #(#setters)*,
                    #call,
                )
            }
        }
    });
    quote! {
        #(#module_attrs)*
        #vis mod #name {
            #[allow(unused_imports)]
            use super::*;

            #(#lint_attrs)*
            #[allow(dead_code)]
            #sig #block

            static __PERF_CASES: #rt::CaseGroup = #rt::CaseGroup::new(::core::module_path!(), &[#(#names),*]);

            #(#tests)*
        }
    }
}
