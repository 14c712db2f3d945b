//! The attribute fuzzer: random and mutated token streams through the
//! macro's parse → validate → expand, which must answer every one of them
//! with code or with a compile error, never a panic ("custom attribute
//! panicked" is the worst error a user can get: no span, no hint).
//!
//! CI runs 10,000 cases of each strategy; for a long run:
//!
//! ```text
//! PERF_FUZZ_CASES=1000000 cargo test -p perf-macros --release fuzz
//! ```

use std::str::FromStr;

use proc_macro2::TokenStream;
use proptest::prelude::*;

/// Valid attributes to mutate: every key and threshold form the pass
/// cases use, in small groups.
const CORPUS: &[&str] = &[
    r#"workers = 100, repeat = 1000, p95 < "200ms", error_rate < 0.01"#,
    r#"workers = 4, duration = "30s", warmup = "2s", timeout = "1m", error_rate <= "1%", throughput > 10.5"#,
    r#"rate = 100, duration = "10s", workers = 50, dropped_rate < 0.01, p99 < "1s" per "5s""#,
    r#"rate = "30000/m", stages = [("10s", 100), ("0s", 500), ("20s", 500)], abort_on_fail"#,
    r#"rate = 10, duration = "1m", profile = "spike", iteration_timeout = "1.5s""#,
    r#"baseline = "v1.0.0", regression < "10%", p95 regression < 0.2"#,
    r#"peak_heap < "100MB", allocs_per_iter <= 2, bytes_per_iter <= "64B", leaks == 0"#,
    r#"p95 for "cold" < "300ms", error_rate for "warm" < 0.1, p(99.9) <= "900ms""#,
    r#"p95 of "db_time" < "5ms", mean of "items" > 3, throttle_rate < 0.001, timeout_rate <= "1%""#,
    r#"publish = "cloudwatch,emf:/tmp/m.log", namespace = "Perf/Test", gate = "LOAD_TEST""#,
    r#"worker_threads = 2, crate = "perf_runtime", min < "10ms", max < "1s", avg < "1s""#,
    r#"cases = [(small, 10), (large, 1000)], compare"#,
];

/// Tokens that are often wrong in interesting ways.
const VOCABULARY: &[&str] = &[
    "workers",
    "repeat",
    "rate",
    "duration",
    "warmup",
    "timeout",
    "iteration_timeout",
    "worker_threads",
    "stages",
    "profile",
    "abort_on_fail",
    "baseline",
    "regression",
    "save_baseline",
    "publish",
    "namespace",
    "gate",
    "crate",
    "cases",
    "compare",
    "sla",
    "p95",
    "p99",
    "p(99.9)",
    "p(101)",
    "p(-1)",
    "mean",
    "min",
    "max",
    "error_rate",
    "throughput",
    "dropped",
    "dropped_rate",
    "peak_heap",
    "allocs_per_iter",
    "bytes_per_iter",
    "leaks",
    "class_rate",
    "for",
    "of",
    "per",
    "in",
    "=",
    "==",
    "<",
    "<=",
    ">",
    ">=",
    "!=",
    ",",
    "-",
    "(",
    ")",
    "[",
    "]",
    "{",
    "}",
    "::",
    ".",
    "..=",
    "#",
    "0",
    "1",
    "-5",
    "1e999",
    "-1e999",
    "1e308",
    "18446744073709551615",
    "340282366920938463463374607431768211455",
    "0.0",
    "NaN",
    "0.5",
    "100",
    "\"200ms\"",
    "\"0s\"",
    "\"\"",
    "\"1h\"",
    "\"1e999s\"",
    "\"99999999999999999999d\"",
    "\"10%\"",
    "\"1e999%\"",
    "\"64B\"",
    "\"1e999GB\"",
    "\"500/s\"",
    "\"-5/s\"",
    "\"größe\"",
    "\"AWS/x\"",
    "\"spike\"",
    "\"v1\"",
    "\"../x\"",
    "'c'",
    "b\"x\"",
    "true",
    "r#type",
    "_",
];

/// Items the attribute may sit on.
const ITEMS: &[&str] = &[
    "async fn f() {}",
    "async fn f() -> Result<(), std::io::Error> { Ok(()) }",
    "async fn f(ctx: Ctx) {}",
    "fn f() {}",
    "async fn f(n: usize) {}",
    "struct S;",
    "",
];

fn cases() -> u32 {
    std::env::var("PERF_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000)
}

/// Expands `attr` on `item`; fails the property if the macro panics.
fn expands_without_panic(attr: &str, item: &str) -> Result<(), TestCaseError> {
    let (Ok(attr_ts), Ok(item_ts)) = (TokenStream::from_str(attr), TokenStream::from_str(item))
    else {
        // Not lexable Rust: the compiler would reject it before the macro.
        return Ok(());
    };
    let outcome = std::panic::catch_unwind(|| crate::expand::perf_test(attr_ts, item_ts));
    prop_assert!(
        outcome.is_ok(),
        "the macro panicked on #[perf_test({attr})] {item}"
    );
    Ok(())
}

#[derive(Debug, Clone)]
enum Mutation {
    Delete(usize),
    Insert(usize, &'static str),
    Replace(usize, &'static str),
    Duplicate(usize),
    Swap(usize, usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let word = proptest::sample::select(VOCABULARY);
    prop_oneof![
        any::<usize>().prop_map(Mutation::Delete),
        (any::<usize>(), word.clone()).prop_map(|(i, w)| Mutation::Insert(i, w)),
        (any::<usize>(), word).prop_map(|(i, w)| Mutation::Replace(i, w)),
        any::<usize>().prop_map(Mutation::Duplicate),
        (any::<usize>(), any::<usize>()).prop_map(|(a, b)| Mutation::Swap(a, b)),
    ]
}

/// Applies mutations to the token trees of `text` (as strings).
fn mutate(text: &str, mutations: &[Mutation]) -> String {
    let mut tokens: Vec<String> = TokenStream::from_str(text)
        .expect("the corpus lexes")
        .into_iter()
        .map(|t| t.to_string())
        .collect();
    for m in mutations {
        let n = tokens.len().max(1);
        match *m {
            Mutation::Delete(i) if !tokens.is_empty() => {
                tokens.remove(i % n);
            }
            Mutation::Insert(i, w) => tokens.insert(i % (tokens.len() + 1), w.to_owned()),
            Mutation::Replace(i, w) if !tokens.is_empty() => tokens[i % n] = w.to_owned(),
            Mutation::Duplicate(i) if !tokens.is_empty() => {
                let t = tokens[i % n].clone();
                tokens.insert(i % n, t);
            }
            Mutation::Swap(a, b) if !tokens.is_empty() => tokens.swap(a % n, b % n),
            _ => {}
        }
    }
    tokens.join(" ")
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: cases(),
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn fuzz_random_token_streams(
        words in proptest::collection::vec(proptest::sample::select(VOCABULARY), 0..24),
        item in proptest::sample::select(ITEMS),
    ) {
        expands_without_panic(&words.join(" "), item)?;
    }

    #[test]
    fn fuzz_mutated_attributes(
        base in proptest::sample::select(CORPUS),
        mutations in proptest::collection::vec(mutation(), 1..6),
        item in proptest::sample::select(&ITEMS[..3]),
    ) {
        expands_without_panic(&mutate(base, &mutations), item)?;
    }
}

#[test]
fn the_corpus_expands_to_code() {
    let refused: Vec<String> = CORPUS
        .iter()
        .filter(|attr| !attr.starts_with("cases")) // needs arguments on the function
        .filter_map(|attr| {
            let out = crate::expand::perf_test(
                TokenStream::from_str(attr).unwrap(),
                TokenStream::from_str(ITEMS[0]).unwrap(),
            )
            .to_string();
            out.contains("compile_error")
                .then(|| format!("#[perf_test({attr})]: {out}"))
        })
        .collect();
    assert!(refused.is_empty(), "{}", refused.join("\n"));
}

#[test]
fn infinite_numbers_are_compile_errors_not_panics() {
    for attr in [
        r#"rate = 1e999, duration = "1s""#,
        r#"baseline = "v1", regression < 1e999"#,
        r#"throughput > 1e999"#,
        r#"error_rate < 1e999"#,
    ] {
        let out = crate::expand::perf_test(
            TokenStream::from_str(attr).unwrap(),
            TokenStream::from_str(ITEMS[0]).unwrap(),
        )
        .to_string();
        assert!(
            out.contains("compile_error") && out.contains("finite"),
            "{attr}: {out}"
        );
    }
}
