//! The programmatic form of `#[perf_test]`: the macro expands to calls of
//! this builder, so there is one implementation.

use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use perf_spec::{Inconclusive, Metric, Profile, Stage};

use crate::model::after::{AfterRun, Publish};
use crate::model::baseline::Regression;
use crate::model::load::{Auto, Batch, LoadShape, Stop, Warmup, DEFAULT_MAX_REPEAT};
use crate::model::shard::Shard;
use crate::model::threshold::Threshold;

/// Where the JSON report goes.
#[derive(Debug, Clone)]
pub(crate) enum ReportDir {
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
    pub(crate) name: String,
    pub(crate) load: LoadShape,
    pub(crate) thresholds: Vec<Threshold>,
    pub(crate) env_overrides: bool,
    pub(crate) report_dir: ReportDir,
    pub(crate) print_summary: bool,
    pub(crate) debug_build: bool,
    pub(crate) workers_set: bool,
    pub(crate) gate: Option<String>,
    pub(crate) after: AfterRun,
    pub(crate) baseline_dir: Option<PathBuf>,
    pub(crate) shard: Option<Shard>,
    pub(crate) start_at: Option<SystemTime>,
    pub(crate) runs: Option<u32>,
    pub(crate) confidence: Option<f64>,
    pub(crate) inconclusive: Option<Inconclusive>,
    pub(crate) max_repeat: Option<u64>,
    pub(crate) exclusive: Option<bool>,
    pub(crate) expected_to_fail: bool,
    /// A capacity search instead of one load (`crate::capacity`).
    pub(crate) capacity: Option<crate::model::capacity::Capacity>,
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
            runs: None,
            confidence: None,
            inconclusive: None,
            max_repeat: None,
            exclusive: None,
            expected_to_fail: false,
            capacity: None,
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
        self.load.stages.push(Stage {
            name: None,
            duration,
            target,
        });
        self
    }

    /// A stage of the phase `name` (`("peak", "2m", 1000)` in the
    /// attribute): consecutive stages of one name make one phase, with
    /// figures of its own in the summary and the report, and thresholds
    /// judged on it alone
    /// ([`Threshold::in_phase`](crate::Threshold::in_phase),
    /// [`Threshold::recovery`](crate::Threshold::recovery)).
    pub fn named_stage(mut self, name: &str, duration: Duration, target: f64) -> Self {
        self.load.stages.push(Stage {
            name: Some(crate::model::saved_threshold::intern(name)),
            duration,
            target,
        });
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
        self.load.auto = None;
        self
    }

    /// `repeat = "auto"`: iterate until every threshold is conclusive (its
    /// interval clear of the limit, with intervals that stay valid however
    /// often the run looks; see [`crate::stats`]), then stop; at most
    /// [`max_repeat`](Self::max_repeat) iterations (default 100,000), or
    /// for at most a [`duration`](Self::duration), within `timeout`.
    pub fn repeat_auto(mut self) -> Self {
        let max_duration = match self.load.stop {
            Stop::Duration(d) => Some(d),
            Stop::Repeat(_) => None,
        };
        self.load.auto = Some(Auto { max_duration });
        self.load.stop = Stop::Repeat(self.max_repeat.unwrap_or(DEFAULT_MAX_REPEAT));
        self
    }

    /// Whether the test's runs wait for every other perf test of the
    /// machine's workspace to finish, and keep them waiting (default
    /// `true`; `false` for a shard or a test with a common start, which are
    /// meant to overlap). `PERF_EXCLUSIVE` overrides it. A test that does
    /// not take turns says in its summary when another ran beside it.
    pub fn exclusive(mut self, exclusive: bool) -> Self {
        self.exclusive = Some(exclusive);
        self
    }

    /// The test is expected to fail (`#[should_panic]`): its summary says
    /// "failed, as expected" instead of "FAILED".
    pub fn expect_failure(mut self) -> Self {
        self.expected_to_fail = true;
        self
    }

    /// The most iterations a [`repeat_auto`](Self::repeat_auto) run takes.
    pub fn max_repeat(mut self, n: u64) -> Self {
        self.max_repeat = Some(n);
        if self.load.auto.is_some() {
            self.load.stop = Stop::Repeat(n);
        }
        self
    }

    /// Run for this long instead of a count. Replaces a `repeat` set
    /// before; with [`repeat_auto`](Self::repeat_auto), the longest the run
    /// may go on.
    pub fn duration(mut self, d: Duration) -> Self {
        match &mut self.load.auto {
            Some(auto) => auto.max_duration = Some(d),
            None => self.load.stop = Stop::Duration(d),
        }
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

    /// Samples this process's CPU and memory beside the test's own, once
    /// per second (`monitor = "name:orders-fn"`; `PERF_MONITOR`
    /// replaces the list): [`Monitor::process`](perf_spec::Monitor::process)
    /// for a child the test started, [`Monitor::name`](perf_spec::Monitor::name)
    /// for every process of a name, whenever it starts.
    pub fn monitor(mut self, process: perf_spec::Monitor) -> Self {
        if !self.load.monitor.contains(&process) {
            self.load.monitor.push(process);
        }
        self
    }

    /// [`monitor`](Self::monitor) the processes written as in the
    /// attribute: `"name:orders-fn,pid:1234"`.
    ///
    /// # Panics
    /// If `targets` is not such a list (the attribute checks it at
    /// compile time).
    pub fn monitor_targets(mut self, targets: &str) -> Self {
        let parsed = perf_spec::Monitor::parse_list(targets)
            .unwrap_or_else(|e| panic!("monitor = {targets:?}: {e}"));
        for m in parsed {
            self = self.monitor(m);
        }
        self
    }

    /// Profiles the measured phase's CPU at 99 samples per second and
    /// writes `<test>.cpu.pb.gz` (pprof) and `<test>.flamegraph.svg`
    /// beside the JSON report (`cpu_profile` in the attribute;
    /// `PERF_CPU_PROFILE=1` for every test).
    pub fn cpu_profile(self) -> Self {
        self.cpu_profile_hz(crate::model::profile::DEFAULT_PROFILE_HZ)
    }

    /// [`cpu_profile`](Self::cpu_profile) at `hz` samples per second of
    /// CPU (clamped to 1..=1000).
    pub fn cpu_profile_hz(mut self, hz: u32) -> Self {
        self.load.cpu_profile = Some(hz.clamp(1, crate::model::profile::MAX_PROFILE_HZ));
        self
    }

    /// Samples the test's allocations with their stacks, one per 512 KiB
    /// allocated on average, and writes `<test>.heap.pb.gz` (pprof's heap
    /// format) beside the JSON report; the summary names the sites that
    /// hold the most at the end (`heap_profile` in the attribute;
    /// `PERF_HEAP_PROFILE=1` for every test). Needs the tracking
    /// allocator ([`crate::memory`]).
    pub fn heap_profile(self) -> Self {
        self.heap_profile_rate(crate::model::profile::DEFAULT_HEAP_PROFILE_RATE)
    }

    /// [`heap_profile`](Self::heap_profile), one sample per `bytes`
    /// allocated on average (1 samples every allocation; at most 1 GiB).
    pub fn heap_profile_rate(mut self, bytes: u64) -> Self {
        self.load.heap_profile = Some(bytes.clamp(1, perf_spec::MAX_HEAP_PROFILE_RATE));
        self
    }

    /// How many iterations of a sub-microsecond closed-model body share one
    /// pair of clock reads (default [`Batch::Auto`]: as many as keep the
    /// clock's cost under 1% of a sample; `PERF_BATCH` overrides).
    pub fn batch(mut self, batch: Batch) -> Self {
        self.load.batch = batch;
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
    pub fn publish(mut self, to: Publish) -> Self {
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
            .extend(parsed.into_iter().map(Publish::from));
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

    /// Measure `n` independent runs of the whole load (1 to 100; default 1,
    /// and 5 when saving a baseline): their spread is the run-to-run noise
    /// the baseline gate tests a change against. Thresholds are judged on
    /// all runs' iterations together. `PERF_RUNS` overrides it.
    pub fn runs(mut self, n: u32) -> Self {
        self.runs = Some(n);
        self
    }

    /// The confidence of every threshold's interval (default 0.95, in
    /// [0.5, 0.9999]). `PERF_CONFIDENCE` overrides it.
    pub fn confidence(mut self, level: f64) -> Self {
        self.confidence = Some(level);
        self
    }

    /// What a threshold whose interval holds its limit does: fail the test
    /// (it must prove its SLA), pass it (it must prove a violation), or
    /// (the default) let the point estimate decide and mark it as decided
    /// by noise. `PERF_INCONCLUSIVE` overrides it.
    pub fn inconclusive(mut self, policy: Inconclusive) -> Self {
        self.inconclusive = Some(policy);
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
}
