use perf_runtime::perf_test;

#[perf_test(repeat = 100, baseline = "v1.0.0", regression < "10%")]
async fn every_default_metric() {}

#[perf_test(repeat = 100, baseline = "main", p95 regression < "10%", mean regression <= 0.05, error_rate regression < "5%", p(99.9) regression < "25%")]
async fn per_metric_budgets() {}

#[perf_test(repeat = 100, baseline = "2026-11-28")]
async fn compare_without_a_gate() {}

fn main() {}
