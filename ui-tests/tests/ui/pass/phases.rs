use perf_runtime::perf_test;

/// The original framework's TestAutoScalingPerformance: a baseline, then
/// a jump to the peak; the peak must recover within a minute and stay
/// within 1.5 times the baseline's mean.
#[perf_test(
    rate = 100,
    workers = 2000,
    stages = [("baseline", "30s", 100), ("peak", "0s", 1000), ("peak", "2m", 1000), ("1m", 100)],
    p95 < "200ms",
    p95 in "peak" < "300ms",
    mean in "peak" < 1.5 * "baseline",
    throughput in "peak" > 0.9 * "baseline",
    recovery in "peak" < "60s",
    recovery of p99 in "peak" < "90s",
    p99 < "1s",
    error_rate in "peak" < "1%"
)]
async fn scales_out() {}

fn main() {}
