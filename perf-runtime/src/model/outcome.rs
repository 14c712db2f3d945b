//! What an iteration's return value means.

use std::fmt::Debug;

/// The return types an iteration may have: `()` (success unless it panics)
/// or `Result<T, E>` with `E: Debug` (an `Err` is a counted error, its
/// `Debug` text kept as the error's message).
#[diagnostic::on_unimplemented(
    message = "a perf test iteration must return `()` or `Result<T, E>` with `E: Debug`, not `{Self}`",
    label = "this is what the iteration returns",
    note = "to measure work that makes a value, end the iteration with `std::hint::black_box(value);` (`#[perf_test]` functions may return any value)"
)]
pub trait IntoOutcome {
    /// `Err(message)` if the iteration failed.
    fn into_outcome(self) -> Result<(), String>;

    /// Whether the iteration failed (cheap: no message is made).
    fn is_failure(&self) -> bool;
}

impl IntoOutcome for () {
    fn into_outcome(self) -> Result<(), String> {
        Ok(())
    }

    fn is_failure(&self) -> bool {
        false
    }
}

impl<T, E: Debug> IntoOutcome for Result<T, E> {
    fn into_outcome(self) -> Result<(), String> {
        self.map(drop).map_err(|e| format!("{e:?}"))
    }

    fn is_failure(&self) -> bool {
        self.is_err()
    }
}

/// What `#[perf_test]` does with a function's output: an [`IntoOutcome`]
/// (`()`, `Result`, whatever its name or alias) is the iteration's
/// outcome; any other value is a success, passed through
/// [`black_box`](std::hint::black_box) so that the optimiser cannot drop
/// the work that made it (criterion's `iter`). The choice is made at
/// compile time, by the receiver's autoref: `(&&Output(&out)).kind()` finds
/// [`OutcomeKind`] first when the output is an outcome, and [`ValueKind`]
/// otherwise.
#[doc(hidden)]
pub struct Output<'a, T>(pub &'a T);

/// The output is an outcome: passed on as it is.
#[doc(hidden)]
pub struct IsOutcome;

/// The output is a value: black-boxed, and the iteration succeeded.
#[doc(hidden)]
pub struct IsValue;

#[doc(hidden)]
pub trait OutcomeKind {
    fn kind(&self) -> IsOutcome {
        IsOutcome
    }
}

impl<T: IntoOutcome> OutcomeKind for &Output<'_, T> {}

#[doc(hidden)]
pub trait ValueKind {
    fn kind(&self) -> IsValue {
        IsValue
    }
}

impl<T> ValueKind for Output<'_, T> {}

impl IsOutcome {
    /// The outcome itself.
    #[inline]
    pub fn outcome<T: IntoOutcome>(self, out: T) -> T {
        out
    }
}

impl IsValue {
    /// A success, the value kept from the optimiser.
    #[inline]
    pub fn outcome<T>(self, out: T) {
        std::hint::black_box(out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[allow(clippy::unit_arg, clippy::needless_borrow)]
    #[test]
    fn outcomes_pass_through_and_values_are_successes() {
        type Alias = Result<u8, String>;
        let failed: Alias = Err("no".into());
        let kind = (&&Output(&failed)).kind();
        assert_eq!(kind.outcome(failed).into_outcome(), Err("\"no\"".into()));
        let unit = ();
        (&&Output(&unit))
            .kind()
            .outcome(unit)
            .into_outcome()
            .unwrap();
        let value = 42usize;
        let out: () = (&&Output(&value)).kind().outcome(value);
        out.into_outcome().unwrap();
        let text = String::from("a value with a destructor");
        (&&Output(&text)).kind().outcome(text);
    }
}
