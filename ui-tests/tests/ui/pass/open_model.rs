use perf_runtime::perf_test;

#[perf_test(rate = 1000, duration = "1m", workers = 200, p95 < "200ms", dropped_rate < 0.01)]
async fn constant_arrival_rate() {}

#[perf_test(rate = "30000/m", duration = "30s", dropped < 1)]
async fn rate_per_minute() {}

#[perf_test(rate = 0, stages = [("30s", 100), ("1m", 1000), ("30s", 0)], workers = 500)]
async fn ramping_arrival_rate() {}

#[perf_test(workers = 1, stages = [("10s", 50), ("20s", 50), ("5s", 0)])]
async fn ramping_workers() {}

#[perf_test(rate = 100, duration = "1m", profile = "spike", p95 < "200ms" per "10s", error_rate < "1%" per "10s")]
async fn spike_profile_with_windows() {}

#[perf_test(rate = 100, duration = "10s", profile = "endurance", p99 < "1s" per "1m")]
async fn endurance_window_fits_the_longer_run() {}

#[perf_test(duration = "30s", abort_on_fail, p99 < "1s")]
async fn abort_on_fail_flag() {}

#[perf_test(duration = "30s", abort_on_fail = "5s", p99 < "1s", throughput >= 10 per "5s")]
async fn abort_on_fail_with_grace() {}

#[perf_test(gate = "LOAD_TEST", rate = 50, duration = "10s")]
async fn gated_load_test() {}

fn main() {}
