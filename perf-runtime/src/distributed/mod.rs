//! Layer 7, a test run as shards: the merge of their results, and the
//! orchestration of a Lambda fan-out (behind an [`fanout::Invoker`], which
//! `aws::lambda` implements).
//!
//! Imports: every layer before it.

#[cfg(feature = "lambda")]
pub(crate) mod fanout;
pub(crate) mod merge;
