//! The showcase lives in `examples/`.
