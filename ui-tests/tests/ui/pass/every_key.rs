use perf_runtime::perf_test;

#[perf_test(
    workers = 100,
    repeat = 1000,
    warmup = 10,
    timeout = "5m",
    iteration_timeout = "1.5s",
    worker_threads = 2,
    crate = "perf_runtime",
    mean < "100ms",
    min < "10ms",
    p50 < "50ms",
    p75 < "60ms",
    p90 < "70ms",
    p95 < "200ms",
    p99 < "500ms",
    p999 < "800ms",
    p(99.99) <= "900ms",
    max < "1s",
    error_rate < 0.01,
    throughput >= 1000,
)]
async fn closed_model_by_count() {}

#[perf_test(repeat = 300, runs = 3, confidence = 0.99, inconclusive = "fail", p95 < "10ms")]
async fn verdict_keys() {}

#[perf_test(workers = 4, duration = "30s", warmup = "2s", timeout = "1m", error_rate <= "1%", throughput > 10.5, avg < "1s")]
async fn closed_model_by_time() {}

#[perf_test(duration = "2m30s", p95 < "250µs", p99 < "250us", max < "1m")]
async fn duration_spellings() {}

#[perf_test(repeat = "auto", max_repeat = 5_000, duration = "10s", workers = 2, exclusive = false, batch = "off", p95 < "10ms", error_rate < 0.01)]
async fn until_conclusive() {}

#[perf_test(workers = 2, repeat = 10_000, batch = 64, p95 < "1ms")]
async fn fixed_batches() {}

#[perf_test(repeat = 10_000, batch = "auto")]
async fn auto_batches() {}

fn main() {}

#[perf_test(
    duration = "30s",
    monitor = "name:orders-fn,pid:1",
    cpu_profile,
    heap_profile,
    cpu < "80%",
    cpu < "90%" per "10s",
    peak_rss < "512MB",
    cpu of "orders-fn" < "70%",
    peak_rss of "orders-fn" <= "256MiB",
)]
async fn resources() {}

#[perf_test(repeat = 100, cpu_profile = 499)]
async fn profiled_at_a_rate() {}

#[perf_test(repeat = 100, heap_profile = "64KiB")]
async fn heap_profiled_at_a_rate() {}
