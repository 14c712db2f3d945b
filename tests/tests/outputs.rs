//! What a perf test's output means: `()` and `Result` (by any name) are
//! the outcome; any other value is a success, kept from the optimiser.

use perf_runtime::perf_test;

/// criterion's `iter` returns the value too: `-> usize` is not an error.
#[perf_test(repeat = 50)]
async fn a_plain_value_is_a_success() -> usize {
    (0..1_000usize).sum()
}

type Outcome = Result<u32, String>;

/// Found by its trait, not its name: an alias of `Result` still fails.
#[perf_test(repeat = 20)]
#[should_panic(expected = "error_rate: observed 1.0000 (20 of 20)")]
async fn an_alias_of_result_is_still_an_outcome() -> Outcome {
    Err("the service said no".into())
}
