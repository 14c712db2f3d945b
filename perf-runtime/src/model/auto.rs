//! What a `repeat = "auto"` run did: the looks it took at its thresholds
//! and why it stopped. The stopping rule is the judge's
//! ([`crate::stats`], "Runs that stop when they know").

use serde::{Deserialize, Serialize};

/// One look at the thresholds, while the run was going on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Look {
    /// Iterations recorded when it looked.
    pub iterations: u64,
    /// Seconds into the measured phase.
    pub seconds: f64,
    /// The confidence its intervals were taken at (above the test's own:
    /// each look spends a share of `1 − confidence`).
    pub confidence: f64,
    /// Thresholds still inconclusive at this look (0: the run stopped).
    pub open: u32,
}

/// Why a `repeat = "auto"` run stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AutoStopped {
    /// Every threshold was conclusive at a look.
    Conclusive,
    /// `max_repeat` iterations ran first.
    MaxRepeat,
    /// The `duration` cap passed first.
    Duration,
    /// The run ended otherwise (timeout, interrupt, abort).
    Ended,
}

/// The looks of a `repeat = "auto"` run and its end.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AutoRun {
    /// Every look, in order (of every run, with `runs = N`).
    pub looks: Vec<Look>,
    /// Why it stopped (the last run's reason, or `MaxRepeat`/`Duration`
    /// if any run reached a cap).
    pub stopped: AutoStopped,
    /// The confidence the final verdicts are judged at: the stopping
    /// look's, or one more look's when a cap ended the run (the strictest
    /// of all runs).
    pub confidence: f64,
    /// The iteration cap.
    pub max_repeat: u64,
}

impl AutoRun {
    /// The runs of one test together: all looks; the strictest
    /// confidence; a cap if any run reached one.
    pub(crate) fn merge(runs: impl IntoIterator<Item = AutoRun>) -> Option<AutoRun> {
        runs.into_iter().reduce(|mut all, run| {
            all.looks.extend(run.looks);
            all.confidence = all.confidence.max(run.confidence);
            if all.stopped == AutoStopped::Conclusive {
                all.stopped = run.stopped;
            }
            all
        })
    }
}
