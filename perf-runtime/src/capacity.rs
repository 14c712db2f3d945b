//! The capacity search's orchestrator. Each step is a run of the test's
//! open model at one rate: for `hold`, its first share a warm-up that is
//! not judged (the previous step's queues drain). Each step is judged with
//! the test's own thresholds. The search ([`crate::run::capacity`]) picks
//! the next rate from how the steps so far ended
//! ([`crate::judge::capacity`]). The report is the highest step that held
//! (else the first one), with the `capacity` object and the `capacity >=`
//! thresholds' verdicts; it goes through the usual end of a run (summary,
//! JSON file, baselines, publishing).

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use perf_spec::Metric;

use crate::io::exclusive::{Turn, Waiting};
use crate::io::{baseline_file, config, files};
use crate::judge::capacity as judge;
use crate::model::capacity::{Capacity, CapacityAxis, StepOutcome};
use crate::model::error::Error;
use crate::model::outcome::IntoOutcome;
use crate::model::report::Report;
use crate::run::builder::{PerfTest, ReportDir};
use crate::run::capacity::Search;
use crate::run::ctx::Ctx;
use crate::run::setup::Stages;

impl PerfTest {
    /// Search for the highest arrival rate the system holds within this
    /// test's thresholds instead of running one load (see [`Capacity`]).
    /// `Threshold::capacity().ge(1000.0)` then fails the test when the
    /// capacity found is lower; without it the test reports and passes.
    pub fn capacity(mut self, search: Capacity) -> Self {
        self.capacity = Some(search);
        self
    }
}

/// A run of one load: no search left to run here (`run_async` has none),
/// and no `capacity` threshold (only a search has a capacity).
pub(crate) fn check_plain(test: &PerfTest) -> Result<(), Error> {
    if test.capacity.is_some() {
        return Err(Error::Config(
            "a capacity search runs its steps on runtimes of its own: use `PerfTest::run` (or #[perf_test]), not `run_async`".into(),
        ));
    }
    if let Some(t) = test
        .thresholds
        .iter()
        .find(|t| t.metric() == Metric::Capacity)
    {
        return Err(Error::Config(format!(
            "threshold `{t}` without a capacity search: add `.capacity(Capacity::rate(low..=high))`"
        )));
    }
    Ok(())
}

/// `PERF_CAPACITY_RANGE` (`50..=20000`, `50..20000`; numbers of workers
/// for a search over workers) and
/// `PERF_CAPACITY_HOLD` (`10s`) over the test's search.
fn overridden(test: &PerfTest, mut spec: Capacity) -> Result<Capacity, Error> {
    if !test.env_overrides {
        spec.check().map_err(Error::Config)?;
        return Ok(spec);
    }
    const RANGE: &str = "PERF_CAPACITY_RANGE";
    const HOLD: &str = "PERF_CAPACITY_HOLD";
    let range = config::process(RANGE);
    let hold = config::process(HOLD);
    if let Some(v) = &range {
        (spec.0.low, spec.0.high) = config::capacity_range(v)?;
    }
    if let Some(v) = &hold {
        spec.0.hold = config::capacity_hold(v)?;
    }
    // A reversed range or a short hold that a variable set names it.
    spec.0.check().map_err(|(field, why)| {
        let set = match field {
            perf_spec::CapacityField::Range => range.as_deref().map(|v| (RANGE, v)),
            perf_spec::CapacityField::Hold => hold.as_deref().map(|v| (HOLD, v)),
            _ => None,
        };
        match set {
            Some((var, value)) => config::env_error(var, value, why),
            None => Error::Config(why),
        }
    })?;
    Ok(spec)
}

/// Runs the search of `spec` with the body `f`.
pub(crate) fn search<F, Fut>(mut test: PerfTest, spec: Capacity, f: F) -> Result<Report, Error>
where
    F: Fn(Ctx) -> Fut + Send + Sync + 'static,
    Fut: Future + Send + 'static,
    Fut::Output: IntoOutcome,
{
    test.capacity = None;
    let spec = overridden(&test, spec)?;
    if test.load.is_open() {
        let what = match spec.axis() {
            CapacityAxis::Rate => "the arrival rate",
            CapacityAxis::Workers => "the number of workers (a closed model)",
        };
        return Err(Error::Config(format!(
            "a capacity search sets {what} itself: drop `rate` and `stages`"
        )));
    }
    for t in test
        .thresholds
        .iter()
        .filter(|t| t.metric() == Metric::Capacity)
    {
        spec.axis().check_limit(t.0.limit).map_err(Error::Config)?;
    }
    let limit = judge::latency_limit(&test.thresholds);
    let judged_by_steps = test
        .thresholds
        .iter()
        .filter(|t| t.metric() != Metric::Capacity)
        .count();
    if judged_by_steps == 0 {
        return Err(Error::Config(
            "a capacity search needs a latency or error threshold to judge its steps by (nothing could break it)".into(),
        ));
    }
    // The test's own gate, before the search (its steps have none).
    if let Some(skipped) = test.gated()? {
        return Ok(skipped);
    }
    files::check_report_dir(&test.report_dir, &test.name)?;
    let turn = Turn::take_blocking(
        test.takes_turns(false)?,
        Waiting::new(&test.name, test.load.timeout),
    )?;
    // A wait for another process's turn is in the timeout.
    let started = Instant::now() - turn.waited_for_other_process;
    let (warmup, judged) = spec.phases();
    let step_test = {
        let mut t = test.clone();
        t.thresholds.retain(|t| t.metric() != Metric::Capacity);
        t.after = Default::default();
        t.report_dir = ReportDir::Off;
        t.print_summary = false;
        t.env_overrides = false;
        t.exclusive = Some(false);
        t.gate = None;
        t
    };
    let f = Arc::new(f);
    let mut search = Search::new(spec.clone());
    let (mut best, mut first): (Option<Report>, Option<Report>) = (None, None);
    // A step takes its hold and a little more (its runtime, the drain,
    // the judging): the longest one so far says what the next will take.
    let mut longest = spec.0.hold;
    while let Some(rate) = search.next() {
        if test
            .load
            .timeout
            .is_some_and(|t| started.elapsed() + longest > t)
        {
            search.stop_for_timeout();
            break;
        }
        let step_started = Instant::now();
        let g = f.clone();
        let load = match spec.axis() {
            CapacityAxis::Rate => step_test.clone().rate(rate),
            CapacityAxis::Workers => step_test.clone().workers(rate as usize),
        };
        let report = load
            .warmup(warmup)
            .duration(judged)
            // Not `run`, which would search again (and instantiate itself
            // without end).
            .run_staged(Stages::none(), move |ctx, _, _| g(ctx))?;
        longest = longest.max(step_started.elapsed());
        let outcome = judge::outcome(&report, limit);
        if test.print_summary {
            let how = crate::output::capacity::outcome(&outcome);
            config::print_summary(&format!(
                "perf test {}: capacity step {}: {how}",
                test.name,
                spec.axis().format(rate)
            ));
        }
        let held = outcome == StepOutcome::Held;
        search.record(judge::step(&report, rate, outcome));
        if held {
            best = Some(report);
        } else if first.is_none() {
            first = Some(report);
        }
    }
    let result = search.result();
    let mut report = best.or(first).ok_or_else(|| {
        Error::Config(format!(
            "capacity search: the timeout left no time for a step of {}",
            perf_spec::format_duration(spec.0.hold)
        ))
    })?;
    report.name = test.name.clone();
    report.thresholds = judge::thresholds(&test.thresholds, &result);
    report.passed = report.thresholds.iter().all(|t| t.passed);
    // The steps ran beside nothing but this search, whose turn they were
    // in: what overlapped is what started beside the search.
    report.overlapped = turn.overlap_besides(result.steps.len());
    report.capacity = Some(result);
    report.waited_ns =
        (turn.waited >= Duration::from_secs(1)).then_some(turn.waited.as_nanos() as u64);
    deliver(&test, &mut report)?;
    Ok(report)
}

/// The usual end of a run for the search's report: summary, JSON file,
/// baselines, publishing.
fn deliver(test: &PerfTest, report: &mut Report) -> Result<(), Error> {
    let config = test.config()?;
    let dir = files::report_dir(&test.report_dir);
    let path = dir.as_ref().map(|d| files::report_path(d, &test.name));
    report.path = path.clone();
    report.package = config::process("CARGO_PKG_NAME").filter(|p| !p.is_empty());
    let baselines = test
        .baseline_dir
        .clone()
        .unwrap_or_else(baseline_file::default_dir);
    test.after.finish_run(
        report,
        &baselines,
        path.as_deref(),
        &config,
        !test.print_summary,
    )
}
