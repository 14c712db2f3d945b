use perf_runtime::perf_test;

#[perf_test(capacity(rate = 50..=20_000, hold = "10s", step = 1.25, precision = "5%"), workers = 500,
            p95 < "200ms", error_rate < "1%", capacity >= 1000)]
async fn orders_api_capacity() {}

fn main() {}
