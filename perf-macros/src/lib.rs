//! The `#[perf_test]` attribute. Use it through `perf_runtime`, which
//! re-exports it: `use perf_runtime::perf_test;`.

mod cases;
mod config;
mod expand;
mod parse;
mod thresholds;

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
/// # Load shape (closed model)
///
/// | key | value | default |
/// |---|---|---|
/// | `workers = 100` | concurrent workers | 1 |
/// | `repeat = 1000` | total iterations, shared by all workers | 100 if no `duration` |
/// | `duration = "30s"` | run until this much time has passed (instead of `repeat`) | |
/// | `warmup = 50` or `warmup = "2s"` | iterations or time run first, not recorded | none |
/// | `timeout = "5m"` | the whole test; on expiry it fails with what was measured | none |
/// | `iteration_timeout = "1s"` | an iteration over it is cancelled and counted as an error | none |
/// | `worker_threads = 4` | threads of the test's own tokio runtime | number of CPUs |
/// | `crate = "path"` | where the runtime is, if renamed or re-exported | `perf_runtime` |
///
/// `PERF_WORKERS`, `PERF_REPEAT` and `PERF_DURATION` (or
/// `PERFORMANCE_TEST_CONCURRENCY` / `PERFORMANCE_TEST_DURATION`) override the
/// load shape at run time.
///
/// # Thresholds
///
/// `metric < limit` or `metric <= limit`; all are evaluated.
///
/// | metric | limit |
/// |---|---|
/// | `mean` (`avg`), `min`, `max`, `p50`, `p75`, `p90`, `p95`, `p99`, `p999`, `p(99.99)` | a duration: `"200ms"`, `"1.5ms"`, `"250µs"`, `"2s"`, `"1m"` |
/// | `error_rate` | a fraction `0.01` or a percentage `"1%"` |
/// | `throughput >= 1000` | completed iterations per second (`>=` or `>`) |
///
/// # Function forms
///
/// `async fn name()`, `async fn name() -> Result<T, E>` (an `Err` is an
/// error, `E: Debug`), and `async fn name(ctx: Ctx)` or
/// `async fn name(ctx: &Ctx)` for the worker and iteration index. A panic in
/// an iteration is caught and counted as an error. Other attributes
/// (`#[should_panic]`, `#[ignore]`, docs, `#[cfg]`) stay on the test.
#[proc_macro_attribute]
pub fn perf_test(args: TokenStream, item: TokenStream) -> TokenStream {
    expand::perf_test(args.into(), item.into()).into()
}
