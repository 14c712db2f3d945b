//! Only a home for `tests/ui.rs` and its cases (see the package description).
