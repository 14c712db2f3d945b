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
}

impl IntoOutcome for () {
    fn into_outcome(self) -> Result<(), String> {
        Ok(())
    }
}

impl<T, E: Debug> IntoOutcome for Result<T, E> {
    fn into_outcome(self) -> Result<(), String> {
        self.map(drop).map_err(|e| format!("{e:?}"))
    }
}
