//! What an iteration's return value means.

use std::fmt::Debug;

/// The return types an iteration may have: `()` (success unless it panics)
/// or `Result<T, E>` with `E: Debug` (an `Err` is a counted error, its
/// `Debug` text kept as the error's message).
#[diagnostic::on_unimplemented(
    message = "a perf test iteration must return `()` or `Result<T, E>` with `E: Debug`, not `{Self}`",
    label = "this is what the iteration returns"
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
