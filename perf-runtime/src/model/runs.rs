//! Repeated runs and the machine they ran on, as data: each run's own
//! latency histogram (a test with `runs = N` is N independent runs whose
//! spread is the run-to-run noise the baseline gate tests against), and
//! the calibration figures measured when a baseline is saved and when it
//! is compared (see [`crate::measure::calibrate`]).

use std::time::Duration;

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

use crate::model::measured::{Batching, Measured, Recorded};
use crate::model::shard::RecordedData;

/// One of a test's repeated runs.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunFigures {
    /// Measured iterations that finished.
    pub iterations: u64,
    /// Of which failed.
    pub errors: u64,
    /// Length of its measured phase, in nanoseconds.
    pub elapsed_ns: u64,
    /// Its latency histogram, HdrHistogram V2 + DEFLATE, base64.
    #[serde(with = "crate::model::codec::serde_histogram")]
    pub histogram: Histogram<u64>,
}

impl RunFigures {
    /// The run's length.
    pub fn elapsed(&self) -> Duration {
        Duration::from_nanos(self.elapsed_ns)
    }
}

/// How fast this machine was at a fixed piece of work, when measured:
/// the median time of a CPU-bound loop and of a 1 ms sleep.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Calibration {
    /// Median time of the fixed CPU workload, in nanoseconds.
    pub cpu_ns: u64,
    /// Median time a 1 ms sleep took, in nanoseconds.
    pub timer_ns: u64,
}

/// How far the machine may drift (as a ratio of a calibration figure)
/// before a comparison stops blaming the code: 25%, well above the spread
/// of the calibration's medians between runs on one machine, and below
/// the slowdown of a machine twice as loaded or a throttled CPU (its
/// medians stayed within ±4% across runs on this 2-core machine, idle or
/// with one core kept busy).
pub const MACHINE_TOLERANCE: f64 = 1.25;

impl Calibration {
    /// The machine over several calibrations (taken between a test's
    /// runs): each figure's median, so that one disturbed calibration does
    /// not decide. `None` for none.
    pub fn median(all: &[Calibration]) -> Option<Calibration> {
        let median = |f: fn(&Calibration) -> u64| {
            let mut v: Vec<u64> = all.iter().map(f).collect();
            v.sort_unstable();
            v.get(v.len() / 2).copied()
        };
        Some(Calibration {
            cpu_ns: median(|c| c.cpu_ns)?,
            timer_ns: median(|c| c.timer_ns)?,
        })
    }

    /// How long the CPU workload and the sleep take now (`self`) against
    /// `then`: `[cpu, timer]`, above 1 when slower.
    pub fn ratios(&self, then: &Calibration) -> [f64; 2] {
        let ratio = |now: u64, was: u64| now.max(1) as f64 / was.max(1) as f64;
        [
            ratio(self.cpu_ns, then.cpu_ns),
            ratio(self.timer_ns, then.timer_ns),
        ]
    }

    /// Why the machine now (`self`) is measurably different from when
    /// `then` was measured, if it is.
    pub fn differs_from(&self, then: &Calibration) -> Option<String> {
        let off = |r: f64| !(1.0 / MACHINE_TOLERANCE..=MACHINE_TOLERANCE).contains(&r);
        let [cpu, timer] = self.ratios(then);
        let mut what = Vec::new();
        if off(cpu) {
            what.push(format!(
                "a fixed CPU workload takes {cpu:.2}× as long ({} vs {})",
                perf_spec::format_duration(Duration::from_nanos(self.cpu_ns)),
                perf_spec::format_duration(Duration::from_nanos(then.cpu_ns))
            ));
        }
        if off(timer) {
            what.push(format!(
                "a 1ms sleep takes {timer:.2}× as long ({} vs {})",
                perf_spec::format_duration(Duration::from_nanos(self.timer_ns)),
                perf_spec::format_duration(Duration::from_nanos(then.timer_ns))
            ));
        }
        (!what.is_empty()).then(|| {
            format!(
                "the machine differs from when the baseline was saved: {}",
                what.join(", ")
            )
        })
    }
}

/// The runs of one test as one measurement: every run's iterations in
/// one histogram (their timelines one after another), counts added, the
/// first run's memory figures (each run's are alike; adding peaks would
/// be wrong), and each run's own figures beside it. A single run is
/// returned as it is, with no per-run figures.
pub(crate) fn merge_runs(runs: Vec<Measured>) -> Result<(Measured, Vec<RunFigures>), String> {
    if runs.len() <= 1 {
        let only = runs.into_iter().next().ok_or("no run to merge")?;
        return Ok((only, Vec::new()));
    }
    let figures = runs
        .iter()
        .map(|m| RunFigures {
            iterations: m.main.iterations,
            errors: m.main.errors,
            elapsed_ns: m.elapsed.as_nanos() as u64,
            histogram: m.main.histogram.clone(),
        })
        .collect();
    let open = runs.iter().any(|m| m.main.service.is_some());
    let mut main = Recorded::empty(open);
    let mut warmup: Option<Recorded> = None;
    let mut offset = 0u32;
    for m in &runs {
        main.add_data(&RecordedData::of(&m.main), offset)?;
        if let Some(w) = &m.warmup {
            warmup
                .get_or_insert_with(|| Recorded::empty(false))
                .add_data(&RecordedData::of(w), 0)?;
        }
        // The next run's seconds follow this one's last (partial) second.
        offset = offset.saturating_add(m.elapsed.as_secs_f64().ceil() as u32);
    }
    main.finish_merge();
    let first = &runs[0];
    let merged = Measured {
        warmup,
        timed_out: runs.iter().any(|m| m.timed_out),
        aborted: runs.iter().find_map(|m| m.aborted.clone()),
        memory: first.memory.clone(),
        resources: first.resources.clone(),
        cpu_profile: first.cpu_profile.clone(),
        heap_profile: first.heap_profile.clone(),
        interrupted: runs.iter().any(|m| m.interrupted),
        stopped: runs.iter().rev().find_map(|m| m.stopped),
        unscheduled: runs.iter().map(|m| m.unscheduled).sum(),
        auto: crate::model::auto::AutoRun::merge(runs.iter().filter_map(|m| m.auto.clone())),
        batching: runs
            .iter()
            .filter_map(|m| m.batching)
            .reduce(Batching::combine),
        calibrations: runs.iter().flat_map(|m| m.calibrations.clone()).collect(),
        ..Measured::of(main, first.started_at, runs.iter().map(|m| m.elapsed).sum())
    };
    Ok((merged, figures))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_machine_between_runs_is_each_figures_median() {
        let c = |cpu_ns, timer_ns| Calibration { cpu_ns, timer_ns };
        // One disturbed calibration (a neighbour's build) does not decide.
        let all = [c(1_000, 1_100), c(5_000, 1_050), c(1_040, 9_000)];
        assert_eq!(Calibration::median(&all), Some(c(1_040, 1_100)));
        assert_eq!(Calibration::median(&[]), None);
    }

    #[test]
    fn a_machine_within_tolerance_is_the_same_machine() {
        let then = Calibration {
            cpu_ns: 1_000_000,
            timer_ns: 1_060_000,
        };
        let same = Calibration {
            cpu_ns: 1_200_000,
            timer_ns: 900_000,
        };
        assert_eq!(same.differs_from(&then), None);
        let slower = Calibration {
            cpu_ns: 1_500_000,
            ..then
        };
        let note = slower.differs_from(&then).unwrap();
        assert!(note.contains("CPU workload takes 1.50×"), "{note}");
        assert!(!note.contains("sleep"), "{note}");
        let faster_timer = Calibration {
            timer_ns: 2_500_000,
            ..then
        };
        assert!(faster_timer
            .differs_from(&then)
            .unwrap()
            .contains("sleep takes 2.36×"));
    }
}
