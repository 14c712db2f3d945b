//! The programmatic form of `#[perf_test]`: the macro expands to calls of
//! this builder, so there is one implementation.

use std::future::Future;
use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime};

use perf_spec::{Metric, Profile, Stage};

use crate::after::AfterRun;
use crate::baseline::{self, Regression};

use crate::load::{LoadShape, Stop, Warmup, DEFAULT_OPEN_POOL};
use crate::outcome::IntoOutcome;
use crate::report::{self, Report};
use crate::shard::{self, Shard, ShardResult};
use crate::threshold::Threshold;
use crate::{env, memory, scheduler, Ctx, Error};

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
    workers_set: bool,
    gate: Option<String>,
    after: AfterRun,
    baseline_dir: Option<PathBuf>,
    shard: Option<Shard>,
    start_at: Option<SystemTime>,
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
            workers_set: false,
            gate: None,
            after: AfterRun::default(),
            baseline_dir: None,
            shard: None,
            start_at: None,
        }
    }

    /// Whether the test's own crate is a debug build (the attribute passes
    /// the user's `cfg!(debug_assertions)`).
    pub(crate) fn debug_build(mut self, debug_build: bool) -> Self {
        self.debug_build = debug_build;
        self
    }

    /// Concurrent workers (default 1); with a `rate`, the pool of workers
    /// available to start iterations on schedule (default 100); with
    /// worker `stages`, the number the ramp starts from.
    pub fn workers(mut self, n: usize) -> Self {
        self.load.workers = n;
        self.workers_set = true;
        self
    }

    /// Open model: start this many iterations per second, on schedule,
    /// whether or not earlier ones have finished. Needs a
    /// [`duration`](Self::duration) or [`stage`](Self::stage)s (then the
    /// ramp starts from this rate, which may be 0).
    pub fn rate(mut self, per_second: f64) -> Self {
        self.load.rate = Some(per_second);
        self
    }

    /// Adds a ramp stage: reach `target` linearly over `duration` (an
    /// instant step if zero). Targets are iterations per second with a
    /// [`rate`](Self::rate), active workers without one. Stages set the
    /// run's length.
    pub fn stage(mut self, duration: Duration, target: f64) -> Self {
        self.load.stages.push(Stage { duration, target });
        self
    }

    /// A capacity-planning profile relative to [`rate`](Self::rate) and
    /// [`duration`](Self::duration): normal 1×, peak 2×, stress 5×, spike a
    /// 10× burst in the middle fifth, endurance 1× for ten times as long.
    pub fn profile(mut self, profile: Profile) -> Self {
        self.load.profile = Some(profile);
        self
    }

    /// Stop the run as soon as a threshold breaks (checked twice a second,
    /// after `grace`), and fail with what was measured.
    pub fn abort_on_fail(mut self, grace: Duration) -> Self {
        self.load.abort_on_fail = Some(grace);
        self
    }

    /// Run only when the environment variable `var` is true (`1`, `true`,
    /// `yes`, `on`); otherwise pass at once, saying how to run it. A value
    /// that is neither true nor false (`0`, `false`, `no`, `off`, empty)
    /// is an error.
    pub fn gate(mut self, var: impl Into<String>) -> Self {
        self.gate = Some(var.into());
        self
    }

    /// Total iterations, shared by all workers (default 100). Replaces a
    /// `duration` set before. Closed model only.
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

    /// Adds every limit of `sla` as a threshold.
    pub fn sla(mut self, sla: &crate::PerformanceSLA) -> Self {
        self.thresholds.extend(sla.thresholds());
        self
    }

    /// Compare the run with baseline `version` (see [`crate::baseline`]);
    /// `PERF_BASELINE` or `PERFORMANCE_TEST_BASELINE_VERSION` override it.
    pub fn baseline(mut self, version: impl Into<String>) -> Self {
        self.after.baseline = Some(version.into());
        self
    }

    /// Fail if `metric` got worse than the baseline by more than `budget`
    /// (`0.10` for 10%) and the change is significant.
    pub fn regression(mut self, metric: Metric, budget: f64) -> Self {
        self.after.regressions.push(Regression {
            metric: Some(metric),
            budget,
        });
        self
    }

    /// The same budget for mean, p50, p95 and p99 (`regression < "10%"`).
    pub fn regression_all(mut self, budget: f64) -> Self {
        self.after.regressions.push(Regression {
            metric: None,
            budget,
        });
        self
    }

    /// Publishes the report's metrics when the test finishes (see
    /// [`export`](crate::export)): CloudWatch (`PutMetricData`, feature
    /// `cloudwatch`) or EMF lines. `PERF_PUBLISH=cloudwatch,emf:<path>`
    /// replaces what is set here; off by default.
    pub fn publish(mut self, to: crate::export::Publish) -> Self {
        self.after.publish.push(to);
        self
    }

    /// [`publish`](Self::publish) to destinations written as in the
    /// attribute: `"cloudwatch,emf:/tmp/metrics.log"`.
    ///
    /// # Panics
    /// If `targets` is not a list of destinations (the attribute checks
    /// it at compile time).
    pub fn publish_targets(mut self, targets: &str) -> Self {
        let parsed = perf_spec::parse_publish_targets(targets)
            .unwrap_or_else(|e| panic!("publish = {targets:?}: {e}"));
        self.after
            .publish
            .extend(parsed.into_iter().map(crate::export::Publish::from));
        self
    }

    /// The CloudWatch namespace to publish into (default
    /// `Performance/Testing`; `PERF_NAMESPACE` overrides it). `PERF_VERSION`,
    /// if set, becomes a `Version` dimension.
    pub fn namespace(mut self, namespace: impl Into<String>) -> Self {
        self.after.namespace = Some(namespace.into());
        self
    }

    /// Where baselines are (default: `PERF_BASELINE_DIR`, else
    /// `perf-baselines` at the workspace root).
    pub fn baseline_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.baseline_dir = Some(dir.into());
        self
    }

    /// Save this run as baseline `version` (as `PERF_SAVE_BASELINE` does).
    pub fn save_baseline(mut self, version: impl Into<String>) -> Self {
        self.after.save_baseline = Some(version.into());
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

    /// Runs as shard `shard` of a distributed test: its share of the load,
    /// a shard result for `perf-report merge`, no verdict of its own (see
    /// [`shard`](crate::shard)). Default: `PERF_SHARD` and friends.
    pub fn shard(mut self, shard: Shard) -> Self {
        self.shard = Some(shard);
        self
    }

    /// Starts the run at `at` (the shards' common start). Default:
    /// `PERF_START_AT`.
    pub fn start_at(mut self, at: SystemTime) -> Self {
        self.start_at = Some(at);
        self
    }

    /// The declared load (checked), and the shard with its part of it.
    fn resolve_sharded(&self) -> Result<(LoadShape, Option<(Shard, LoadShape)>), Error> {
        let declared = self.resolve()?;
        let shard = match self.shard {
            Some(s) => Some(s),
            None if self.env_overrides => Shard::from_env()?,
            None => None,
        };
        let Some(shard) = shard else {
            return Ok((declared, None));
        };
        let part = shard.split(&declared)?;
        part.validate(&self.thresholds)?;
        Ok((declared, Some((shard, part))))
    }

    fn start_time(&self) -> Result<Option<SystemTime>, Error> {
        match self.start_at {
            Some(at) => shard::check_start(at, SystemTime::now())
                .map(Some)
                .map_err(|reason| Error::Config(format!("start_at: {reason}"))),
            None if self.env_overrides => shard::start_at_from_env(),
            None => Ok(None),
        }
    }

    /// The load shape after environment overrides, checked.
    fn resolve(&self) -> Result<LoadShape, Error> {
        let mut load = self.load.clone();
        if self.env_overrides {
            env::check(&env::process)?;
            env::apply(&mut load, &env::process)?;
        }
        if load.is_open()
            && !self.workers_set
            && !load.overrides.iter().any(|o| o.contains("WORKERS"))
        {
            load.workers = DEFAULT_OPEN_POOL;
        }
        load.validate(&self.thresholds)?;
        Ok(load)
    }

    /// Memory thresholds need the tracking allocator, and a runtime of the
    /// test's own whose threads can be scoped.
    fn check_memory_thresholds(&self, own_runtime: bool) -> Result<(), Error> {
        let Some(t) = self.thresholds.iter().find(|t| t.metric().is_memory()) else {
            return Ok(());
        };
        if !own_runtime {
            return Err(Error::Config(format!(
                "threshold `{t}` needs memory figures, which `run_async` cannot attribute (your runtime's threads \
                 are shared); use `PerfTest::run` or #[perf_test]"
            )));
        }
        if !memory::is_installed() {
            return Err(Error::Config(format!(
                "threshold `{t}` needs the tracking allocator, which is not installed in this test binary: \
                 add `perf_runtime::track_allocations!();` at the top of this test file \
                 (it makes perf_runtime::memory::TrackingAllocator the #[global_allocator])"
            )));
        }
        Ok(())
    }

    /// `Some(report)` if the gate keeps this test from running.
    fn gated(&self) -> Result<Option<Report>, Error> {
        let Some(var) = &self.gate else {
            return Ok(None);
        };
        let open = crate::env_flag(var)?;
        if open {
            return Ok(None);
        }
        let line = format!(
            "perf test {} skipped: gated by {var}; run it with {var}=true cargo test",
            self.name
        );
        if self.print_summary {
            report::print_summary(&line);
        }
        Ok(Some(Report::skipped(
            self.name.clone(),
            self.load.clone(),
            line,
        )))
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
        if let Some(skipped) = self.gated()? {
            return Ok(skipped);
        }
        let (declared, sharded) = self.resolve_sharded()?;
        let load = sharded.as_ref().map_or(&declared, |(_, part)| part).clone();
        let start_at = self.start_time()?;
        self.check_memory_thresholds(true)?;
        let _running = crate::signals::Running::new();
        // The timeout counts from here: a wait for a common start is in it.
        let deadline = load.timeout.map(|t| Instant::now() + t);
        // With the tracking allocator, this test's runtime threads (and the
        // thread driving it) count their allocations in a scope of its own.
        let scope = memory::is_installed().then(memory::Scope::new);
        let mut builder = tokio::runtime::Builder::new_multi_thread();
        builder
            .worker_threads(load.worker_threads)
            .thread_name("perf-worker")
            .enable_all();
        if let Some(scope) = scope {
            builder
                .on_thread_start(move || {
                    crate::panics::prepare_thread();
                    memory::enter_thread(scope)
                })
                .on_thread_stop(memory::leave_thread);
        }
        let runtime = builder.build().map_err(Error::Runtime)?;
        crate::panics::prepare_thread();
        let measured = runtime.block_on(async {
            // `block_on` polls this future on this thread only, so the
            // thread may stay in the scope across awaits.
            let _in_scope = scope.map(|s| s.enter());
            if let Some(at) = start_at {
                shard::wait_until(at, deadline).await;
            }
            scheduler::execute(&load, &self.thresholds, &self.name, scope, deadline, f).await
        });
        if measured.abandoned() {
            // Their threads are blocked: waiting for them would hang the test.
            runtime.shutdown_background();
        } else {
            drop(runtime);
        }
        self.finish(declared, load, sharded.map(|(s, _)| s), measured)
    }

    /// Like [`run`](Self::run), on the tokio runtime you are already in
    /// (use a multi-thread runtime for real concurrency).
    pub async fn run_async<F, Fut>(self, f: F) -> Result<Report, Error>
    where
        F: Fn(Ctx) -> Fut + Send + Sync + 'static,
        Fut: Future + Send + 'static,
        Fut::Output: IntoOutcome,
    {
        if let Some(skipped) = self.gated()? {
            return Ok(skipped);
        }
        let (declared, sharded) = self.resolve_sharded()?;
        let mut load = sharded.as_ref().map_or(&declared, |(_, part)| part).clone();
        let start_at = self.start_time()?;
        self.check_memory_thresholds(false)?;
        let _running = crate::signals::Running::new();
        let deadline = load.timeout.map(|t| Instant::now() + t);
        load.worker_threads = tokio::runtime::Handle::current().metrics().num_workers();
        if let Some(at) = start_at {
            shard::wait_until(at, deadline).await;
        }
        let measured =
            scheduler::execute(&load, &self.thresholds, &self.name, None, deadline, f).await;
        self.finish(declared, load, sharded.map(|(s, _)| s), measured)
    }

    fn finish(
        self,
        declared: LoadShape,
        load: LoadShape,
        shard: Option<Shard>,
        measured: scheduler::Measured,
    ) -> Result<Report, Error> {
        let dir = match &self.report_dir {
            ReportDir::Off => None,
            ReportDir::Dir(dir) => Some(dir.clone()),
            ReportDir::Auto => Some(report::default_dir()),
        };
        let path = dir.as_ref().map(|d| report::report_path(d, &self.name));
        let shard_result = shard.map(|shard| ShardResult {
            // What the merge does with the merged report.
            after: self.after.clone(),
            ..ShardResult::new(
                &self.name,
                shard,
                &declared,
                &load,
                &self.thresholds,
                self.debug_build,
                &measured,
            )
        });
        let mut report = Report::build(
            self.name.clone(),
            load,
            measured,
            &self.thresholds,
            self.debug_build,
            path.clone().filter(|_| shard_result.is_none()),
        );
        if let Some(result) = shard_result {
            return self.finish_shard(report, result, dir);
        }
        let env = |var: &str| {
            self.env_overrides
                .then(|| crate::after::process_env(var))
                .flatten()
        };
        let dir = self
            .baseline_dir
            .clone()
            .unwrap_or_else(baseline::default_dir);
        self.after
            .finish(&mut report, &dir, path.as_deref(), &env, |summary| {
                if self.print_summary {
                    report::print_summary(&summary);
                }
            })?;
        Ok(report)
    }

    /// A shard's end: its own figures printed, its result written (next to
    /// the report and to `PERF_RESULTS`), no verdict on the thresholds:
    /// those are for the merged result.
    fn finish_shard(
        self,
        mut report: Report,
        result: ShardResult,
        dir: Option<std::path::PathBuf>,
    ) -> Result<Report, Error> {
        report.passed = !report.timed_out && !report.interrupted && report.aborted.is_none();
        report.shard = Some(result.shard);
        let mut written = Vec::new();
        if let Some(dir) = &dir {
            let path = result.path_in(dir);
            result.write(&path)?;
            written.push(path.display().to_string());
        }
        let destination = if self.env_overrides {
            std::env::var("PERF_RESULTS")
                .ok()
                .filter(|v| !v.trim().is_empty())
        } else {
            None
        };
        if let Some(to) = destination {
            written.push(shard::publish_result(&to, &result)?);
        }
        if self.print_summary {
            let mut summary = report.summary();
            for w in &written {
                summary.push_str(&format!("\n  shard result: {w}"));
            }
            report::print_summary(&summary);
        }
        report.shard_result = Some(Box::new(result));
        Ok(report)
    }
}
