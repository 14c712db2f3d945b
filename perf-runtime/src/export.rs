//! A report's metrics for CloudWatch: as metric data (for `PutMetricData`,
//! see `aws::cloudwatch` behind the `cloudwatch` feature) and as
//! CloudWatch Embedded Metric Format JSON lines (no API call: a Lambda
//! function's stdout, or any log CloudWatch Logs ingests, becomes metrics).
//!
//! | metric | unit | dimensions |
//! |---|---|---|
//! | `Latency` | Milliseconds | test dims; also per tag (`Tag`) |
//! | `Iterations`, `Errors` | Count | test dims; `Errors` also per `ErrorClass` |
//! | `ErrorRate` | None (a fraction) | test dims |
//! | `Throughput` | Count/Second | test dims |
//! | `Dropped` | Count (open model only) | test dims |
//! | custom `<name>` | Milliseconds (durations), None (values), Count (counters) | test dims |
//!
//! The test dimensions are `TestSuite` (the name's first `::` segment),
//! `Test` (the whole name) and those added with
//! [`MetricsExport::dimension`] (e.g. `Version`).
//!
//! **Percentiles survive**: for `PutMetricData` the latency histogram is
//! sent as values and counts (buckets 1% wide), from which CloudWatch
//! computes p50/p95/p99 itself. EMF has no counts, so EMF lines carry the
//! percentiles as their own metrics (`LatencyP50`, `LatencyP95`,
//! `LatencyP99`, `LatencyMax`, `LatencyMean`), beside the counts and rates.

pub use crate::model::after::{Publish, DEFAULT_NAMESPACE};
pub use crate::output::emf::{MetricDatum, MetricsExport, StatisticSet, Unit};
