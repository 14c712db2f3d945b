//! The programmatic form of `#[perf_test]`: the macro expands to calls of
//! this builder, so there is one implementation.

use std::future::Future;
use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::outcome::IntoOutcome;
use crate::report::{self, Report};
use crate::threshold::Threshold;
use crate::{env, scheduler, Ctx, Error};

/// Iterations run when neither `repeat` nor `duration` is given: enough for
/// a p95 to mean something, few enough for a quick `cargo test`.
pub const DEFAULT_REPEAT: u64 = 100;

/// When the measured phase ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    /// After this many iterations in total (shared by all workers).
    Repeat(u64),
    /// When this much time has passed; iterations in flight then finish.
    Duration(Duration),
}

/// Iterations run before measuring, not recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Warmup {
    /// This many iterations (shared by all workers).
    Iterations(u64),
    /// For this long.
    Time(Duration),
}

impl From<u64> for Warmup {
    fn from(n: u64) -> Self {
        Warmup::Iterations(n)
    }
}

impl From<Duration> for Warmup {
    fn from(d: Duration) -> Self {
        Warmup::Time(d)
    }
}

/// The load shape a run actually used (after environment overrides).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(into = "LoadShapeJson", try_from = "LoadShapeJson")]
pub struct LoadShape {
    /// Concurrent workers.
    pub workers: usize,
    /// When the measured phase ends.
    pub stop: Stop,
    /// Warm-up before measuring.
    pub warmup: Option<Warmup>,
    /// Limit on the whole run (warm-up included).
    pub timeout: Option<Duration>,
    /// Limit on each iteration.
    pub iteration_timeout: Option<Duration>,
    /// Threads of the test's tokio runtime.
    pub worker_threads: usize,
    /// The environment overrides applied, as `VAR=value`.
    pub overrides: Vec<String>,
}

impl Default for LoadShape {
    fn default() -> Self {
        LoadShape {
            workers: 1,
            stop: Stop::Repeat(DEFAULT_REPEAT),
            warmup: None,
            timeout: None,
            iteration_timeout: None,
            worker_threads: std::thread::available_parallelism().map_or(1, usize::from),
            overrides: Vec::new(),
        }
    }
}

/// The JSON form of [`LoadShape`]: flat, durations in nanoseconds.
#[derive(Serialize, Deserialize)]
struct LoadShapeJson {
    model: String,
    workers: usize,
    repeat: Option<u64>,
    duration_ns: Option<u64>,
    warmup_iterations: Option<u64>,
    warmup_ns: Option<u64>,
    timeout_ns: Option<u64>,
    iteration_timeout_ns: Option<u64>,
    worker_threads: usize,
    overrides: Vec<String>,
}

fn ns(d: Duration) -> u64 {
    d.as_nanos() as u64
}

impl From<LoadShape> for LoadShapeJson {
    fn from(l: LoadShape) -> Self {
        let (repeat, duration_ns) = match l.stop {
            Stop::Repeat(n) => (Some(n), None),
            Stop::Duration(d) => (None, Some(ns(d))),
        };
        let (warmup_iterations, warmup_ns) = match l.warmup {
            None => (None, None),
            Some(Warmup::Iterations(n)) => (Some(n), None),
            Some(Warmup::Time(d)) => (None, Some(ns(d))),
        };
        LoadShapeJson {
            model: "closed".into(),
            workers: l.workers,
            repeat,
            duration_ns,
            warmup_iterations,
            warmup_ns,
            timeout_ns: l.timeout.map(ns),
            iteration_timeout_ns: l.iteration_timeout.map(ns),
            worker_threads: l.worker_threads,
            overrides: l.overrides,
        }
    }
}

impl TryFrom<LoadShapeJson> for LoadShape {
    type Error = String;
    fn try_from(j: LoadShapeJson) -> Result<Self, String> {
        let stop = match (j.repeat, j.duration_ns) {
            (Some(n), None) => Stop::Repeat(n),
            (None, Some(d)) => Stop::Duration(Duration::from_nanos(d)),
            _ => return Err("load shape needs exactly one of `repeat` and `duration_ns`".into()),
        };
        let warmup = match (j.warmup_iterations, j.warmup_ns) {
            (None, None) => None,
            (Some(n), None) => Some(Warmup::Iterations(n)),
            (None, Some(d)) => Some(Warmup::Time(Duration::from_nanos(d))),
            _ => return Err("load shape has both `warmup_iterations` and `warmup_ns`".into()),
        };
        Ok(LoadShape {
            workers: j.workers,
            stop,
            warmup,
            timeout: j.timeout_ns.map(Duration::from_nanos),
            iteration_timeout: j.iteration_timeout_ns.map(Duration::from_nanos),
            worker_threads: j.worker_threads,
            overrides: j.overrides,
        })
    }
}

/// Where the JSON report goes.
#[derive(Debug, Clone)]
enum ReportDir {
    /// `PERF_REPORT_DIR`, else `<target dir>/perf`.
    Auto,
    Dir(PathBuf),
    Off,
}

/// A perf test built in code: the same options as `#[perf_test]`, for
/// tests that cannot use the attribute (tables built at run time, a
/// runtime you already have).
///
/// ```no_run
/// use perf_runtime::{PerfTest, Threshold};
/// use std::time::Duration;
///
/// let report = PerfTest::new("checkout::put_item")
///     .workers(8)
///     .repeat(1_000)
///     .threshold(Threshold::p(95.0).lt(Duration::from_millis(200)))
///     .threshold(Threshold::error_rate().lt(0.01))
///     .run(|_ctx| async { Ok::<(), std::io::Error>(()) })
///     .expect("configuration and report file are fine");
/// report.assert_passed();
/// ```
#[derive(Debug, Clone)]
#[must_use = "a PerfTest does nothing until `run` is called"]
pub struct PerfTest {
    name: String,
    load: LoadShape,
    thresholds: Vec<Threshold>,
    env_overrides: bool,
    report_dir: ReportDir,
    print_summary: bool,
    debug_build: bool,
}

impl PerfTest {
    /// A test named `name`; `::`-separated parts become directories of the
    /// report path (`target/perf/checkout/put_item.json`).
    pub fn new(name: impl Into<String>) -> Self {
        PerfTest {
            name: name.into(),
            load: LoadShape::default(),
            thresholds: Vec::new(),
            env_overrides: true,
            report_dir: ReportDir::Auto,
            print_summary: true,
            debug_build: cfg!(debug_assertions),
        }
    }

    #[doc(hidden)]
    pub fn __from_macro(module_path: &str, name: &str, debug_build: bool) -> Self {
        let mut test = PerfTest::new(format!("{module_path}::{name}"));
        test.debug_build = debug_build;
        test
    }

    /// Concurrent workers (default 1).
    pub fn workers(mut self, n: usize) -> Self {
        self.load.workers = n;
        self
    }

    /// Total iterations, shared by all workers (default 100). Replaces a
    /// `duration` set before.
    pub fn repeat(mut self, n: u64) -> Self {
        self.load.stop = Stop::Repeat(n);
        self
    }

    /// Run for this long instead of a count. Replaces a `repeat` set before.
    pub fn duration(mut self, d: Duration) -> Self {
        self.load.stop = Stop::Duration(d);
        self
    }

    /// Warm-up before measuring: `.warmup(50)` iterations or
    /// `.warmup(Duration::from_secs(2))`.
    pub fn warmup(mut self, w: impl Into<Warmup>) -> Self {
        self.load.warmup = Some(w.into());
        self
    }

    /// Fail the run, with what was measured so far, after this long.
    pub fn timeout(mut self, d: Duration) -> Self {
        self.load.timeout = Some(d);
        self
    }

    /// Cancel an iteration that takes longer than this and count it as an
    /// error.
    pub fn iteration_timeout(mut self, d: Duration) -> Self {
        self.load.iteration_timeout = Some(d);
        self
    }

    /// Threads of the test's own tokio runtime (default: CPU count). Not
    /// used by [`run_async`](Self::run_async), which runs on yours.
    pub fn worker_threads(mut self, n: usize) -> Self {
        self.load.worker_threads = n;
        self
    }

    /// Adds a threshold; all are evaluated.
    pub fn threshold(mut self, t: Threshold) -> Self {
        self.thresholds.push(t);
        self
    }

    /// Whether `PERF_WORKERS` & co. may override the load shape (default
    /// true).
    pub fn env_overrides(mut self, on: bool) -> Self {
        self.env_overrides = on;
        self
    }

    /// Write the JSON report into `dir` (`<dir>/<name parts>.json`).
    pub fn report_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.report_dir = ReportDir::Dir(dir.into());
        self
    }

    /// Do not write a JSON report.
    pub fn no_report_file(mut self) -> Self {
        self.report_dir = ReportDir::Off;
        self
    }

    /// Do not print the end-of-test summary.
    pub fn quiet(mut self) -> Self {
        self.print_summary = false;
        self
    }

    /// The load shape after environment overrides, checked.
    fn resolve(&self) -> Result<LoadShape, Error> {
        let mut load = self.load.clone();
        if self.env_overrides {
            env::apply(&mut load, &|k| std::env::var(k).ok())?;
        }
        validate(&load, &self.thresholds)?;
        Ok(load)
    }

    /// Runs the test on a tokio runtime of its own (like `#[tokio::test]`)
    /// and returns its report, after printing the summary and writing the
    /// JSON file. Broken thresholds are in the report; call
    /// [`Report::assert_passed`] to fail on them.
    pub fn run<F, Fut>(self, f: F) -> Result<Report, Error>
    where
        F: Fn(Ctx) -> Fut + Send + Sync + 'static,
        Fut: Future + Send + 'static,
        Fut::Output: IntoOutcome,
    {
        let load = self.resolve()?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(load.worker_threads)
            .thread_name("perf-worker")
            .enable_all()
            .build()
            .map_err(Error::Runtime)?;
        let measured = runtime.block_on(scheduler::execute(&load, f));
        drop(runtime);
        self.finish(load, measured)
    }

    /// Like [`run`](Self::run), on the tokio runtime you are already in
    /// (use a multi-thread runtime for real concurrency).
    pub async fn run_async<F, Fut>(self, f: F) -> Result<Report, Error>
    where
        F: Fn(Ctx) -> Fut + Send + Sync + 'static,
        Fut: Future + Send + 'static,
        Fut::Output: IntoOutcome,
    {
        let mut load = self.resolve()?;
        load.worker_threads = tokio::runtime::Handle::current().metrics().num_workers();
        let measured = scheduler::execute(&load, f).await;
        self.finish(load, measured)
    }

    fn finish(self, load: LoadShape, measured: scheduler::Measured) -> Result<Report, Error> {
        let path = match &self.report_dir {
            ReportDir::Off => None,
            ReportDir::Dir(dir) => Some(report::report_path(dir, &self.name)),
            ReportDir::Auto => Some(report::report_path(&report::default_dir(), &self.name)),
        };
        let report = Report::build(
            self.name,
            load,
            measured,
            &self.thresholds,
            self.debug_build,
            path.clone(),
        );
        if self.print_summary {
            report::print_summary(&report.summary());
        }
        if let Some(path) = &path {
            report.write_json(path)?;
        }
        Ok(report)
    }
}

fn validate(load: &LoadShape, thresholds: &[Threshold]) -> Result<(), Error> {
    let bad = |m: String| Err(Error::Config(m));
    let fmt = perf_spec::format_duration;
    if load.workers == 0 {
        return bad("`workers` must be at least 1".into());
    }
    if load.worker_threads == 0 {
        return bad("`worker_threads` must be at least 1".into());
    }
    match load.stop {
        Stop::Repeat(0) => return bad("`repeat` must be at least 1".into()),
        Stop::Duration(d) if d.is_zero() => {
            return bad("`duration` must be longer than zero".into())
        }
        _ => {}
    }
    let warmup = match load.warmup {
        Some(Warmup::Iterations(0)) => return bad("`warmup` must be at least 1 iteration".into()),
        Some(Warmup::Time(d)) if d.is_zero() => {
            return bad("`warmup` must be longer than zero".into())
        }
        Some(Warmup::Time(d)) => d,
        _ => Duration::ZERO,
    };
    for (key, d) in [
        ("timeout", load.timeout),
        ("iteration_timeout", load.iteration_timeout),
    ] {
        if d.is_some_and(|d| d.is_zero()) {
            return bad(format!("`{key}` must be longer than zero"));
        }
    }
    if let (Some(t), Stop::Duration(d)) = (load.timeout, load.stop) {
        if t <= d + warmup {
            let source = if load.overrides.is_empty() {
                String::new()
            } else {
                format!(" ({})", load.overrides.join(", "))
            };
            return bad(format!(
                "`timeout` ({}) is not longer than the planned run ({}{source}): the test could never finish",
                fmt(t),
                fmt(d + warmup)
            ));
        }
    }
    let specs: Vec<_> = thresholds.iter().map(|t| t.0).collect();
    for spec in &specs {
        spec.check()
            .or_else(|m| bad(format!("threshold `{spec}`: {m}")))?;
    }
    if let Some((_, message)) = perf_spec::check_consistency(&specs).into_iter().next() {
        return bad(message);
    }
    Ok(())
}
