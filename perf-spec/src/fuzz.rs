//! The parser fuzzer: random strings through every parser the macro and
//! the runtime share. Each answers `Ok` with a finite, in-range value or
//! `Err` with a message; none panics, whatever the input (these parsers
//! read environment variables and files at run time, not only literals).
//!
//! CI runs 10,000 cases of each; for a long run:
//!
//! ```text
//! PERF_FUZZ_CASES=1000000 cargo test -p perf-spec --release fuzz
//! ```

use proptest::prelude::*;

use crate::*;

fn cases() -> u32 {
    std::env::var("PERF_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000)
}

/// Strings made of the characters these parsers care about, and any
/// other character now and then.
fn input() -> impl Strategy<Value = String> {
    prop_oneof![
        "[0-9eE.+_ /%-]{0,12}[a-zA-Zµ%/]{0,4}",
        "[0-9]{1,30}(ns|us|µs|ms|s|m|h|d|B|KB|MiB|GB|%|/s|/m)?",
        "\\PC{0,16}",
        "(1e999|-1e999|NaN|inf|-0|0x10|1_000|9{25})(s|ms|%|B|/s)?",
        "[a-z:,/._ -]{0,24}",
    ]
}

fn finite(x: f64) -> Result<(), TestCaseError> {
    prop_assert!(x.is_finite(), "{x}");
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: cases(),
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn fuzz_every_parser(text in input()) {
        if let Ok(d) = parse_duration(&text) {
            // Formats back without panicking too.
            let _ = format_duration(d);
        }
        if let Ok(r) = parse_rate(&text) {
            finite(r)?;
            prop_assert!(r >= 0.0);
        }
        if let Ok(b) = parse_size(&text) {
            finite(b)?;
            let _ = format_size(b);
            let _ = format_size_limit(b);
        }
        if let Ok(f) = parse_fraction(&text) {
            finite(f)?;
            prop_assert!((0.0..=1.0).contains(&f), "{f}");
        }
        if let Ok(a) = parse_alpha(&text) {
            prop_assert!(a > 0.0 && a <= 0.5, "{a}");
        }
        let _ = check_namespace(&text);
        let _ = parse_publish_targets(&text);
        let _ = Profile::from_name(&text);
        let _ = Metric::from_name(&text);
        let _ = Stat::from_name(&text);
        let _ = closest(&text, METRIC_NAMES);
    }

    #[test]
    fn fuzz_numbers_through_the_checks(x in any::<f64>(), p in any::<f64>()) {
        let _ = check_fraction(x);
        if let Ok(q) = Percentile::new(p) {
            prop_assert!(q.value() > 0.0 && q.value() < 100.0);
        }
        let _ = format_size(x);
        let _ = format_size_digits(x, 3);
        let _ = format_size_limit(x);
    }
}
