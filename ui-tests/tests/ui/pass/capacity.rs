use perf_runtime::perf_test;

#[perf_test(capacity(rate = 50..=20_000, hold = "10s", step = 1.25, precision = "5%"), workers = 500,
            p95 < "200ms", error_rate < "1%", capacity >= 1000)]
async fn orders_api_capacity() {}

/// A capacity (and a throughput) limit in another unit: per minute.
#[perf_test(capacity(rate = 50..=20_000), p95 < "200ms", capacity >= "60000/m", throughput > "30000/m")]
async fn per_minute() {}


/// The closed model's search: the most workers within the SLA.
#[perf_test(capacity(workers = 1..=512, hold = "5s"), p95 < "200ms", capacity >= 64)]
async fn reserved_concurrency() {}

fn main() {}
