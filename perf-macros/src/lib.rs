//! The `#[perf_test]` attribute. Use it through `perf_runtime`, which
//! re-exports it: `use perf_runtime::perf_test;`.

mod capacity;
mod cases;
mod config;
mod expand;
mod parse;
mod phases;
mod thresholds;
mod values;

#[cfg(test)]
mod docs;
#[cfg(test)]
mod fuzz;

use proc_macro::TokenStream;

/// Turns one `async fn` iteration into a load test that `cargo test` runs.
///
/// ```no_run
/// use perf_runtime::perf_test;
/// # #[derive(Debug)] struct MyError;
/// # async fn get_item() -> Result<(), MyError> { Ok(()) }
///
/// #[perf_test(workers = 100, repeat = 1000, p95 < "200ms", p99 < "500ms", error_rate < 0.01)]
/// async fn get_item_is_fast() -> Result<(), MyError> {
///     get_item().await
/// }
/// ```
///
/// The function body is one iteration. `workers` long-lived tasks pull
/// iterations until `repeat` iterations have run (or `duration` has passed);
/// every iteration's latency is recorded in an HDR histogram, then every
/// threshold is checked, a summary is printed and a JSON report is written
/// to `target/perf/<module path>/<test name>.json`. A broken threshold fails
/// the test with the observed values.
///
/// Every key below has its builder equivalent ([`PerfTest`] in code): the
/// attribute expands to exactly those calls. Each is checked at compile
/// time, and a mistake is an error at the token.
///
/// [`PerfTest`]: https://docs.rs/perf-runtime/latest/perf_runtime/struct.PerfTest.html
///
/// # Load shape
///
/// | key | example | builder | default |
/// |---|---|---|---|
/// | `workers` | `workers = 100`: concurrent workers (with `rate`: the pool that starts iterations on schedule) | `.workers(100)` | 1 (100 with `rate`) |
/// | `repeat` | `repeat = 1000`: total iterations, shared by all workers; `repeat = "auto"`: until every threshold is conclusive (see Verdicts) | `.repeat(1000)`, `.repeat_auto()` | 100 if no `duration` |
/// | `max_repeat` | `max_repeat = 20_000`: the most iterations of `repeat = "auto"` | `.max_repeat(20_000)` | 100,000 |
/// | `duration` | `duration = "30s"`: run until this much time has passed (instead of `repeat`; beside `repeat = "auto"`, the longest it runs) | `.duration(Duration::from_secs(30))` | |
/// | `rate` | `rate = 1000` or `rate = "30000/m"`: open model, iterations started per second on schedule | `.rate(1000.0)` | closed model |
/// | `stages` | `stages = [("30s", 100), ("1m", 1000)]`: ramp linearly to each target (rate with `rate`, active workers without); `("peak", "1m", 1000)` names the stage's phase (consecutive stages of one name are one phase, with figures and thresholds of its own) | `.stage(Duration::from_secs(30), 100.0)`, `.named_stage("peak", Duration::from_secs(60), 1000.0)` | |
/// | `capacity` | `capacity(rate = 50..=20_000, hold = "10s", step = 1.5, precision = "5%", warmup = "20%")`: search for the highest rate the thresholds hold (with `capacity >= 1000` to gate on it); `capacity(workers = 1..=512)`: the most workers (closed model) | `.capacity(Capacity::rate(50..=20_000))`, `.capacity(Capacity::workers(1..=512))` | |
/// | `profile` | `profile = "spike"`: `normal`, `peak`, `stress`, `spike` or `endurance`, relative to `rate` and `duration` | `.profile(Profile::Spike)` | |
/// | `warmup` | `warmup = 50` or `warmup = "2s"`: iterations or time run first, not recorded (open model: at the test's rate) | `.warmup(50)` | none |
/// | `timeout` | `timeout = "5m"`: the whole test; on expiry it fails with what was measured | `.timeout(Duration::from_secs(300))` | none |
/// | `iteration_timeout` | `iteration_timeout = "1s"`: an iteration over it is cancelled and counted as an error | `.iteration_timeout(Duration::from_secs(1))` | none |
/// | `abort_on_fail` | `abort_on_fail` or `abort_on_fail = "5s"`: stop at the first broken threshold (after the grace) | `.abort_on_fail(Duration::from_secs(5))` | off |
/// | `worker_threads` | `worker_threads = 4`: threads of the test's own tokio runtime (at most 1,024) | `.worker_threads(4)` | number of CPUs |
/// | `exclusive` | `exclusive = false`: run beside other perf tests instead of taking turns with them (within the process and across processes of the workspace's target directory) | `.exclusive(false)` | `true` (`false` for shards and `start_at`) |
/// | `batch` | `batch = "off"`: time every iteration on its own; `batch = 64`: 64 iterations per clock pair; closed model only | `.batch(Batch::Off)` | `"auto"`: bodies far below a microsecond are timed in batches (`PERF_BATCH`) |
/// | `monitor` | `monitor = "name:orders-fn,pid:1234"`: sample these processes' CPU and RSS beside the test's own (by name: every process of that name, whenever it starts) | `.monitor(Monitor::name("orders-fn"))`, `.monitor(Monitor::process(&child))` | the test process, and local Lambda functions (`PERF_MONITOR` replaces the list) |
/// | `cpu_profile` | `cpu_profile` (99 Hz) or `cpu_profile = 499`: profile the measured phase; writes `<test>.cpu.pb.gz` (pprof) and `<test>.flamegraph.svg` beside the report, and names the top 5 functions | `.cpu_profile()`, `.cpu_profile_hz(499)` | off (`PERF_CPU_PROFILE=1` turns it on for every test) |
/// | `heap_profile` | `heap_profile` (one sample per 512 KiB allocated) or `heap_profile = "64KiB"`: sample allocations with their stacks (needs `track_allocations!()`); writes `<test>.heap.pb.gz` (pprof's heap format) beside the report, and names the sites that hold the most at the end | `.heap_profile()`, `.heap_profile_rate(65536)` | off (`PERF_HEAP_PROFILE=1` turns it on for every test; `PERF_HEAP_PROFILE_RATE` sets the rate) |
/// | `gate` | `gate = "LOAD_TEST"`: run only when that variable is true, else pass saying how to run it | `.gate("LOAD_TEST")` | always runs |
/// | `crate` | `crate = "my_crate::perf"`: where the runtime is, if renamed or re-exported | | `perf_runtime` |
///
/// `PERF_WORKERS`, `PERF_REPEAT`, `PERF_DURATION`, `PERF_RATE` and
/// `PERF_PROFILE` (or `PERFORMANCE_TEST_CONCURRENCY` /
/// `PERFORMANCE_TEST_DURATION`) override the load shape at run time.
///
/// # Baselines, SLAs, validation and publishing
///
/// | key | example | builder |
/// |---|---|---|
/// | `baseline` | `baseline = "v1.0.0"`: compare with that saved baseline | `.baseline("v1.0.0")` |
/// | `regression` | `regression < "10%"` (mean, p50, p95, p99) or `p95 regression < 0.2`: fail when the change's whole interval lies beyond the budget (Holm over the gated metrics) | `.regression_all(0.10)`, `.regression(Metric::Percentile(..), 0.2)` |
/// | `runs` | `runs = 5`: independent runs of the whole load (1 to 100); their spread is the run-to-run noise a baseline comparison tests against. Default 1, and 5 when saving a baseline | `.runs(5)` |
/// | `sla` | `sla = CHECKOUT_SLA`: every limit of a `const PerformanceSLA` | `.sla(&CHECKOUT_SLA)` |
/// | `validate` | `validate = check_order`: check every output (`fn(&Output) -> bool` or `-> Result<(), E>`) | (in the iteration) |
/// | `setup` | `setup = start_server`: an `async fn() -> State` run once before the load, untimed, on the test's runtime; the body takes `&State` | `.setup(start_server)` |
/// | `teardown` | `teardown = stop_server`: an `async fn(Arc<State>)` run after the load | `.teardown(stop_server)` |
/// | `per_worker` | `per_worker = connect`: an `async fn(usize, Arc<State>) -> W` made for each worker before the load; the body takes `&W` after `&State` | `.per_worker(connect)` |
/// | `publish` | `publish = "cloudwatch,emf:/tmp/m.log"`: where the metrics go | `.publish_targets("cloudwatch")` |
/// | `namespace` | `namespace = "Perf/Checkout"`: the CloudWatch namespace (not `AWS/…`, at most 255 characters) | `.namespace("Perf/Checkout")` |
///
/// # Verdicts
///
/// Every estimated figure (percentiles, mean, error and class rates,
/// dropped rate, throughput) gets a confidence interval; a threshold
/// *passes* when its whole interval is on the right side of the limit,
/// *fails* when it is on the wrong side, and is *inconclusive* when the
/// limit lies inside it.
///
/// | key | example | builder | default |
/// |---|---|---|---|
/// | `confidence` | `confidence = 0.99`: the level of every interval, in [0.5, 0.9999] | `.confidence(0.99)` | 0.95 |
/// | `inconclusive` | `inconclusive = "fail"`: an inconclusive threshold fails the test (it must prove its SLA); `"pass"` passes it (it must prove a violation); `"warn"` lets the value decide and marks it | `.inconclusive(Inconclusive::Fail)` | `"warn"` |
///
/// `PERF_RUNS`, `PERF_CONFIDENCE` and `PERF_INCONCLUSIVE` override them at
/// run time.
///
/// `repeat = "auto"` keeps iterating until every whole-run threshold with
/// an interval is conclusive, then stops (at most `max_repeat` iterations,
/// `duration`, `timeout`). It looks at the thresholds each time the count
/// has doubled (from 100), and look `k` takes its intervals at the
/// confidence `1 − (1 − c) / (k (k + 1))`: the looks together spend no
/// more than `1 − c`, so looking often does not make wrong verdicts more
/// likely. The report records the looks (`auto`). `PERF_REPEAT=auto`
/// turns it on at run time.
///
/// # Thresholds
///
/// `metric op limit`, with `op` one of `<`, `<=`, `>`, `>=`, `==` as the
/// metric allows; all are evaluated. `… per "10s"` judges every 10-second
/// window, `… for "tag"` the iterations tagged with `ctx.tag("tag")`, and
/// `p95 of "name" < "5ms"` a custom metric recorded with `ctx.record…`.
/// `… in "peak"` judges one phase of named stages, and `mean in "peak" <
/// 1.5 * "baseline"` is a factor of the same metric in another phase
/// (latency, `error_rate`, `throughput`, `dropped` and `dropped_rate` have
/// figures per phase).
///
/// | metric | example | builder |
/// |---|---|---|
/// | `mean` (`avg`), `min`, `max` | `mean < "100ms"` | `Threshold::mean().lt(Duration::from_millis(100))` |
/// | `p50`, `p75`, `p90`, `p95`, `p99`, `p999`, `p(99.99)` | `p95 < "200ms"` | `Threshold::p(95.0).lt(Duration::from_millis(200))` |
/// | `error_rate` | `error_rate < 0.01` or `error_rate < "1%"` | `Threshold::error_rate().lt(0.01)` |
/// | `<class>_rate` | `throttle_rate < 0.001` (errors classed with `ctx.error_class("throttle")`) | `Threshold::class_rate("throttle").lt(0.001)` |
/// | `throughput` | `throughput >= 1000` (completed iterations per second; also `throughput >= "60000/m"`) | `Threshold::throughput().ge(1000.0)` |
/// | `dropped` | `dropped <= 10` (open model: iterations that found no free worker) | `Threshold::dropped().le(10)` |
/// | `dropped_rate` | `dropped_rate < 0.01` | `Threshold::dropped_rate().lt(0.01)` |
/// | `peak_heap` | `peak_heap < "100MB"` (needs `track_allocations!()`) | `Threshold::peak_heap().lt(100_000_000)` |
/// | `allocs_per_iter` | `allocs_per_iter <= 3` | `Threshold::allocs_per_iter().le(3.0)` |
/// | `bytes_per_iter` | `bytes_per_iter < "4KiB"` | `Threshold::bytes_per_iter().lt(4096)` |
/// | `leaks` | `leaks == 0` (no steady growth of retained bytes) | `Threshold::no_leaks()` |
/// | `leak_per_iter` | `leak_per_iter < "64B"` | `Threshold::leak_per_iter().lt(64)` |
/// | `cpu` | `cpu < "80%"`: the test process's CPU over the run as a share of its cores (100% = all busy); `cpu of "orders-fn" < "70%"` of a monitored process; `cpu < "90%" per "10s"` every window | `Threshold::cpu().lt(0.8)`, `Threshold::cpu_of("orders-fn")` |
/// | `peak_rss` | `peak_rss < "512MB"`; `peak_rss of "orders-fn" < "256MB"` | `Threshold::peak_rss().lt(512_000_000)`, `Threshold::peak_rss_of("orders-fn")` |
/// | `checks` | `checks > 0.99`: the share of `perf_runtime::http` checks that passed; `check "body has id" > 0.999` for one check (lower bounds) | `Threshold::checks().gt(0.99)`, `Threshold::checks_of("body has id")` |
/// | `recovery` | `recovery in "peak" < "60s"`: from the phase's start until the per-second p95 is back under its limit (the tightest `p95 <`, of the run or of the phase) and stays there for the rest of the phase or 10 s; `recovery of p99 in "peak"` for another percentile | `Threshold::recovery("peak").lt(Duration::from_secs(60))`, `Threshold::recovery_of(99.0, "peak")` |
/// | `capacity` | `capacity >= 1000` (or `capacity >= "60000/m"`): the highest rate (or number of workers) the `capacity(...)` search held (a lower bound the generator stopped at passes if it reaches it) | `Threshold::capacity().ge(1000.0)` |
///
/// # Function forms
///
/// `async fn name()`, `async fn name() -> Result<T, E>` (an `Err` is an
/// error, `E: Debug`; any alias of `Result` too), `async fn name() -> T`
/// for any other `T` (a success, its value black-boxed so that the work
/// is not optimised away), and `async fn name(ctx: Ctx)` or
/// `async fn name(ctx: &Ctx)` for the worker and iteration index. A panic in
/// an iteration is caught and counted as an error. Other attributes
/// (`#[should_panic]`, `#[ignore]`, docs, `#[cfg]`) stay on the test.
#[proc_macro_attribute]
pub fn perf_test(args: TokenStream, item: TokenStream) -> TokenStream {
    expand::perf_test(args.into(), item.into()).into()
}
