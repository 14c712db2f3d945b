//! A perf test's run from start to end: the environment's overrides and
//! gate, the runtime (with the allocation scope), the scheduler, the
//! verdict, the end-of-run sinks. The one place that ties the layers
//! together for a single machine (see [`crate::after`] for the end of a
//! run, which a merge of shards shares).

use std::future::Future;
use std::sync::Arc;
use std::time::{Instant, SystemTime};

use crate::io::config::{self, Config};
use crate::io::exclusive::{Turn, Waiting};
use crate::io::{baseline_file, files, shard_file, shard_file::ShardDir};
use crate::judge::live::AbortCheck;
use crate::judge::until::UntilConclusive;
use crate::measure::{alloc, calibrate, resources, scope};
use crate::model::error::Error;
use crate::model::load::{LoadShape, DEFAULT_OPEN_POOL};
use crate::model::measured::Measured;
use crate::model::outcome::IntoOutcome;
use crate::model::report::Report;
use crate::model::runs::{merge_runs, Calibration};
use crate::model::shard::{Shard, ShardResult};
use crate::model::threshold::{Judging, DEFAULT_CONFIDENCE};
use crate::output::print::PrintSummary;
use crate::output::sink::Sinks;
use crate::run::builder::PerfTest;
use crate::run::ctx::Ctx;
use crate::run::monitor::Watching;
use crate::run::scheduler;
use crate::run::setup::Stages;
use crate::scenarios::Beside;

/// A run about to start: the declared load, the shard and its part of
/// the load (or the whole), the common start.
struct Prepared {
    declared: LoadShape,
    shard: Option<Shard>,
    load: LoadShape,
    start_at: Option<SystemTime>,
    /// Independent runs of the whole load.
    runs: u32,
    judging: Judging,
    /// Whether the runs wait for other perf tests (see `crate::io::exclusive`).
    exclusive: bool,
}

/// Runs a baseline is saved from when the test does not say: enough for
/// its spread to stand for the machine's run-to-run noise (a one-sided t
/// test on 4 degrees of freedom), few enough to keep saving cheap. Go
/// users' `go test -count=5` habit.
pub const SAVE_RUNS: u32 = 5;

impl PerfTest {
    /// What a run needs before it starts (`own_runtime`: on a runtime of
    /// its own, which memory figures need), or the report of a test its
    /// gate keeps from running.
    fn prepare(&self, own_runtime: bool) -> Result<Result<Prepared, Report>, Error> {
        crate::capacity::check_plain(self)?;
        if let Some(skipped) = self.gated()? {
            return Ok(Err(skipped));
        }
        let (declared, sharded) = self.resolve_sharded()?;
        files::check_report_dir(&self.report_dir, &self.name)?;
        let (shard, load) = match sharded {
            Some((shard, part)) => (Some(shard), part),
            None => (None, declared.clone()),
        };
        let start_at = self.start_time()?;
        self.check_memory_thresholds(own_runtime)?;
        let (runs, judging) = self.judging(shard.is_some())?;
        if shard.is_some() && load.auto.is_some() {
            return Err(Error::Config(
                "`repeat = \"auto\"` on a shard: each shard would stop on its own figures; give a distributed test a fixed `repeat` or `duration`".into(),
            ));
        }
        let exclusive = self.takes_turns(shard.is_some() || start_at.is_some())?;
        Ok(Ok(Prepared {
            declared,
            shard,
            load,
            start_at,
            runs,
            judging,
            exclusive,
        }))
    }

    /// The end-of-run settings of the environment, when the test allows
    /// overrides.
    pub(crate) fn config(&self) -> Result<Config, Error> {
        if self.env_overrides {
            Config::from_env()
        } else {
            Ok(Config::default())
        }
    }

    /// `PERF_EXCLUSIVE` over the test's `exclusive`; by default a test
    /// takes turns unless it is a shard or has a common start (those are
    /// meant to overlap).
    pub(crate) fn takes_turns(&self, meant_to_overlap: bool) -> Result<bool, Error> {
        let from_env = if self.env_overrides {
            config::flag(&config::process, "PERF_EXCLUSIVE")?
        } else {
            None
        };
        Ok(from_env.or(self.exclusive).unwrap_or(!meant_to_overlap))
    }

    /// The runs and the judging: `PERF_RUNS`, `PERF_CONFIDENCE` and
    /// `PERF_INCONCLUSIVE` over what the test declares; a test saving a
    /// baseline runs [`SAVE_RUNS`] times unless it says how many.
    fn judging(&self, sharded: bool) -> Result<(u32, Judging), Error> {
        let config = self.config()?;
        let confidence = config
            .confidence
            .or(self.confidence)
            .unwrap_or(DEFAULT_CONFIDENCE);
        perf_spec::check_confidence(confidence)
            .map_err(|r| Error::Config(format!("confidence: {r}")))?;
        let judging = Judging {
            confidence,
            inconclusive: config
                .inconclusive
                .or(self.inconclusive)
                .unwrap_or_default(),
        };
        let saving = config.save_baseline.is_some() || self.after.save_baseline.is_some();
        let runs = match config.runs.or(self.runs) {
            Some(n) => perf_spec::check_runs(u64::from(n))
                .map_err(|r| Error::Config(format!("runs: {r}")))?,
            None if saving && !sharded => SAVE_RUNS,
            None => 1,
        };
        if runs > 1 && sharded {
            return Err(Error::Config(format!(
                "runs = {runs} on a shard: repeated runs are for one machine; a distributed test's shards are its runs"
            )));
        }
        Ok((runs, judging))
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
            Some(at) => shard_file::check_start(at, SystemTime::now())
                .map(Some)
                .map_err(|reason| Error::Config(format!("start_at: {reason}"))),
            None if self.env_overrides => shard_file::start_at_from_env(),
            None => Ok(None),
        }
    }

    /// What the run's monitor needs: the name, `PERF_PROGRESS` (checked
    /// before the run), the thresholds' live check, and the looks of a
    /// `repeat = "auto"` run.
    fn watching(&self, load: &LoadShape, judging: Judging) -> Result<Watching, Error> {
        let progress = config::flag(&config::process, "PERF_PROGRESS")?.unwrap_or(false);
        let until = load.auto.map(|auto| {
            let max_repeat = match load.stop {
                crate::model::load::Stop::Repeat(n) => n,
                crate::model::load::Stop::Duration(_) => u64::MAX,
            };
            let check =
                UntilConclusive::new(&self.thresholds, judging.confidence, auto, max_repeat);
            Box::new(check) as _
        });
        Ok(Watching {
            name: self.name.clone(),
            progress,
            live: AbortCheck::of(&self.thresholds),
            until,
            cpu_profile: None,
            resources: None,
            calibrate: self.after.touches_baselines(&self.config()?),
        })
    }

    /// The load shape after environment overrides, checked.
    fn resolve(&self) -> Result<LoadShape, Error> {
        let mut load = self.load.clone();
        if self.env_overrides {
            config::check(&config::process)?;
            config::apply(&mut load, &config::process)?;
        }
        if let Some(max) = self.max_repeat {
            if self.load.auto.is_none() {
                return Err(Error::Config(
                    "`max_repeat` caps `repeat = \"auto\"`, and this test has a fixed `repeat` or `duration`".into(),
                ));
            }
            if load.auto.is_some() {
                load.stop = crate::model::load::Stop::Repeat(max);
            }
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
        if !alloc::is_installed() {
            return Err(Error::Config(format!(
                "threshold `{t}` needs the tracking allocator, which is not installed in this test binary: \
                 add `perf_runtime::track_allocations!();` at the top of this test file \
                 (it makes perf_runtime::memory::TrackingAllocator the #[global_allocator])"
            )));
        }
        Ok(())
    }

    /// `Some(report)` if the gate keeps this test from running.
    pub(crate) fn gated(&self) -> Result<Option<Report>, Error> {
        let Some(var) = &self.gate else {
            return Ok(None);
        };
        let open = config::env_flag(var)?;
        if open {
            return Ok(None);
        }
        let line = format!(
            "perf test {} skipped: gated by {var}; run it with {var}=true cargo test",
            self.name
        );
        if self.print_summary {
            config::print_summary(&line);
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
        if let Some(search) = self.capacity.clone() {
            return crate::capacity::search(self, search, f);
        }
        self.run_staged(Stages::none(), move |ctx, _, _| f(ctx))
    }

    /// [`run`](Self::run) with a setup, per-worker state and a teardown
    /// around the load (see [`crate::run::setup`]).
    pub(crate) fn run_staged<S, W, F, Fut>(
        self,
        stages: Stages<S, W>,
        f: F,
    ) -> Result<Report, Error>
    where
        S: Send + Sync + 'static,
        W: Send + Sync + 'static,
        F: Fn(Ctx, Arc<S>, Arc<W>) -> Fut + Send + Sync + 'static,
        Fut: Future + Send + 'static,
        Fut::Output: IntoOutcome,
    {
        let Prepared {
            declared,
            shard,
            load,
            start_at,
            runs,
            judging,
            exclusive,
        } = match self.prepare(true)? {
            Ok(p) => p,
            Err(skipped) => return Ok(skipped),
        };
        // Waiting for a perf test of this process is not this one's time;
        // waiting for another process is (see `Turn`).
        let turn = Turn::take_blocking(exclusive, Waiting::new(&self.name, load.timeout))?;
        let _running = crate::run::signals::Running::new();
        // The timeout counts from here: a wait for a common start is in it.
        let deadline = turn.timeout_left(load.timeout).map(|t| Instant::now() + t);
        // With the tracking allocator, this test's runtime threads (and the
        // thread driving it) count their allocations in a scope of its own.
        let scope = alloc::is_installed().then(scope::Scope::new);
        if let (Some(scope), Some(rate)) = (scope, load.heap_profile) {
            scope.profile_heap(rate);
        }
        let mut builder = tokio::runtime::Builder::new_multi_thread();
        builder
            .worker_threads(load.worker_threads)
            .thread_name("perf-worker")
            .enable_all();
        if let Some(scope) = scope {
            builder
                .on_thread_start(move || {
                    crate::run::panics::prepare_thread();
                    scope::enter_thread(scope)
                })
                .on_thread_stop(scope::leave_thread);
        }
        let watching = (0..runs)
            .map(|_| self.watching(&load, judging))
            .collect::<Result<Vec<_>, _>>()?;
        let runtime = builder.build().map_err(Error::Runtime)?;
        crate::run::panics::prepare_thread();
        let measured = runtime.block_on(async {
            // `block_on` polls this future on this thread only, so the
            // thread may stay in the scope across awaits.
            let _in_scope = scope.map(|s| s.enter());
            if let Some(at) = start_at {
                scheduler::wait_until(at, deadline).await;
            }
            let prepared = {
                // The setup's state is not the iterations' memory. (This
                // thread polls the whole future, so the pause holds across
                // the awaits.)
                let _paused = scope::pause();
                Stages::prepare(stages.setup, &stages.per_worker, load.pool_size()).await
            };
            staged_runs(
                prepared,
                stages.teardown,
                &load,
                watching,
                scope,
                deadline,
                f,
            )
            .await
        });
        if measured.last().is_some_and(Measured::abandoned) {
            // Their threads are blocked: waiting for them would hang the test.
            runtime.shutdown_background();
        } else {
            drop(runtime);
        }
        self.finish(declared, load, shard, measured, judging, &turn)
    }

    /// Like [`run`](Self::run), on the tokio runtime you are already in
    /// (use a multi-thread runtime for real concurrency).
    pub async fn run_async<F, Fut>(self, f: F) -> Result<Report, Error>
    where
        F: Fn(Ctx) -> Fut + Send + Sync + 'static,
        Fut: Future + Send + 'static,
        Fut::Output: IntoOutcome,
    {
        self.run_async_staged(Stages::none(), move |ctx, _, _| f(ctx), None)
            .await
    }

    /// [`run_async`](Self::run_async) with a setup, per-worker state and a
    /// teardown around the load; as one scenario of a group when `beside`
    /// is given: in the group's turn, starting its load when every
    /// scenario of the group is ready.
    pub(crate) async fn run_async_staged<S, W, F, Fut>(
        self,
        stages: Stages<S, W>,
        f: F,
        beside: Option<Beside>,
    ) -> Result<Report, Error>
    where
        S: Send + Sync + 'static,
        W: Send + Sync + 'static,
        F: Fn(Ctx, Arc<S>, Arc<W>) -> Fut + Send + Sync + 'static,
        Fut: Future + Send + 'static,
        Fut::Output: IntoOutcome,
    {
        let Prepared {
            declared,
            shard,
            mut load,
            start_at,
            runs,
            judging,
            exclusive,
        } = match self.prepare(false)? {
            Ok(p) => p,
            Err(skipped) => return Ok(skipped),
        };
        let (turn, start_line) = match beside {
            Some(Beside { turn, start_line }) => (turn, Some(start_line)),
            None => (
                Arc::new(Turn::take(exclusive, Waiting::new(&self.name, load.timeout)).await?),
                None,
            ),
        };
        let _running = crate::run::signals::Running::new();
        let deadline = turn.timeout_left(load.timeout).map(|t| Instant::now() + t);
        load.worker_threads = tokio::runtime::Handle::current().metrics().num_workers();
        if let Some(at) = start_at {
            scheduler::wait_until(at, deadline).await;
        }
        let watching = (0..runs)
            .map(|_| self.watching(&load, judging))
            .collect::<Result<Vec<_>, _>>()?;
        let prepared = Stages::prepare(stages.setup, &stages.per_worker, load.pool_size()).await;
        if let Some(line) = start_line {
            line.ready(deadline).await;
        }
        let measured = staged_runs(
            prepared,
            stages.teardown,
            &load,
            watching,
            None,
            deadline,
            f,
        )
        .await;
        self.finish(declared, load, shard, measured, judging, &turn)
    }

    fn finish(
        self,
        declared: LoadShape,
        load: LoadShape,
        shard: Option<Shard>,
        runs: Vec<Measured>,
        judging: Judging,
        turn: &Turn,
    ) -> Result<Report, Error> {
        let config = self.config()?;
        let (mut measured, each) =
            merge_runs(runs).map_err(|e| Error::Config(format!("merging the runs: {e}")))?;
        let calibrations = std::mem::take(&mut measured.calibrations);
        let dir = files::report_dir(&self.report_dir);
        let path = dir.as_ref().map(|d| files::report_path(d, &self.name));
        let shard_result = shard.map(|shard| ShardResult {
            // What the merge does with the merged report.
            after: self.after.clone(),
            judging,
            origin: shard_file::origin(),
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
            judging,
            shard,
        );
        report.path = path.clone().filter(|_| shard_result.is_none());
        report.package = config::process("CARGO_PKG_NAME").filter(|p| !p.is_empty());
        report.runs = each;
        report.overlapped = turn.overlap();
        report.expected_to_fail = self.expected_to_fail;
        report.waited_ns = (turn.waited >= std::time::Duration::from_secs(1))
            .then_some(turn.waited.as_nanos() as u64);
        if let Some(result) = shard_result {
            // A shard's end: its own figures printed, its result written
            // (next to the report and to `PERF_RESULTS`), no verdict on the
            // thresholds: those are for the merged result.
            report.shard_result = Some(Box::new(result));
            let mut sinks = Sinks::default();
            if let Some(dir) = dir {
                sinks.push(ShardDir(dir));
            }
            if let Some(to) = &config.results {
                sinks.push(crate::after::results_sink(to));
            }
            if self.print_summary {
                sinks.push(PrintSummary {
                    mode: config.summary,
                });
            }
            sinks.deliver(&report)?;
            return Ok(report);
        }
        let baselines = self
            .baseline_dir
            .clone()
            .unwrap_or_else(baseline_file::default_dir);
        if self.after.touches_baselines(&config) {
            // The machine check: compared with the calibration a saved
            // baseline carries (see `crate::measure::calibrate`), from the
            // calibrations between the runs.
            report.calibration =
                Calibration::median(&calibrations).or_else(|| Some(calibrate::calibrate()));
        }
        self.after.finish_run(
            &mut report,
            &baselines,
            path.as_deref(),
            &config,
            !self.print_summary,
        )?;
        Ok(report)
    }
}

/// The runs on the prepared state (the setup's and each worker's), then
/// the teardown (not when the last run left iterations stuck on blocked
/// threads: the teardown could hang behind them).
async fn staged_runs<S, W, F, Fut>(
    prepared: (Arc<S>, Arc<[Arc<W>]>),
    teardown: crate::run::setup::Teardown<S>,
    load: &LoadShape,
    watching: Vec<Watching>,
    scope: Option<&'static scope::Scope>,
    deadline: Option<Instant>,
    f: F,
) -> Vec<Measured>
where
    S: Send + Sync + 'static,
    W: Send + Sync + 'static,
    F: Fn(Ctx, Arc<S>, Arc<W>) -> Fut + Send + Sync + 'static,
    Fut: Future + Send + 'static,
    Fut::Output: IntoOutcome,
{
    let (state, workers) = prepared;
    let body = {
        let state = state.clone();
        // Untimed: the clones happen before the iteration's future exists.
        move |ctx: Ctx| {
            let mine = workers[ctx.worker % workers.len()].clone();
            f(ctx, state.clone(), mine)
        }
    };
    let sampler = resources::Sampler::start(&load.monitor);
    let profiler = load
        .cpu_profile
        .map(|hz| Arc::new(crate::measure::cpu_profile::CpuProfiler::new(hz)));
    let watching = watching
        .into_iter()
        .map(|w| Watching {
            cpu_profile: profiler.clone(),
            resources: sampler.as_ref().map(resources::Sampler::marker),
            ..w
        })
        .collect();
    let mut measured = scheduler::run_each(load, watching, scope, deadline, body).await;
    resources::attach(sampler, &mut measured);
    // After the resources' last reading: symbolising the profile reads the
    // binary's debug information, which is not the run's memory.
    if let (Some(p), Some(first)) = (profiler, measured.first_mut()) {
        first.cpu_profile = Some(p.finish());
    }
    if let Some(rate) = load.heap_profile.filter(|_| !measured.is_empty()) {
        // Sites are shown relative to the directory the test runs in.
        let base = std::env::current_dir().unwrap_or_default();
        let elapsed = measured.iter().map(|m| m.elapsed).sum();
        let profile = crate::measure::heap_pprof::finish(scope, rate, &base, elapsed);
        measured[0].heap_profile = Some(profile);
    }
    if let Some(teardown) = teardown.filter(|_| !measured.last().is_some_and(Measured::abandoned)) {
        teardown(state).await;
    }
    measured
}
