//! The figures a threshold is judged on: a whole run, a run so far, one
//! tag, or one window.

use std::collections::BTreeMap;

use hdrhistogram::Histogram;

use crate::model::measured::new_histogram;
use crate::model::memory::MemoryStats;
use crate::model::report::CustomStats;
use crate::model::resources::Resources;
use crate::model::timeline::Window;

/// The figures a threshold is checked against: a whole run, a run so far,
/// or one window of it.
pub(crate) struct Figures<'a> {
    /// Memory figures (whole runs with the tracking allocator only).
    pub(crate) memory: Option<&'a MemoryStats>,
    /// Failed iterations per error class (whole runs only).
    pub(crate) classes: Option<&'a BTreeMap<String, u64>>,
    /// Custom metrics (whole runs only).
    pub(crate) custom: Option<&'a BTreeMap<String, CustomStats>>,
    /// The sampled resources (whole runs on Linux only).
    pub(crate) resources: Option<&'a Resources>,
    pub(crate) iterations: u64,
    pub(crate) errors: u64,
    pub(crate) dropped: u64,
    pub(crate) seconds: f64,
    pub(crate) latency: &'a Histogram<u64>,
}

impl<'a> Figures<'a> {
    /// The iterations with one tag.
    pub(crate) fn tagged(latency: &'a Histogram<u64>, errors: u64, seconds: f64) -> Figures<'a> {
        Figures {
            memory: None,
            classes: None,
            custom: None,
            resources: None,
            iterations: latency.len(),
            errors,
            dropped: 0,
            seconds,
            latency,
        }
    }
}

impl<'a> Figures<'a> {
    /// A run still going on, `elapsed` into it: its flushed counts, its
    /// latency so far and (when given) its error classes so far.
    pub(crate) fn so_far(
        s: &crate::measure::recorder::Shared,
        elapsed: std::time::Duration,
        latency: &'a Histogram<u64>,
        classes: Option<&'a BTreeMap<String, u64>>,
    ) -> Figures<'a> {
        Figures {
            memory: None,
            classes,
            custom: None,
            resources: None,
            iterations: s.iterations(),
            errors: s.errors(),
            dropped: s.dropped(),
            seconds: elapsed.as_secs_f64(),
            latency,
        }
    }
}

impl Window {
    /// A window's figures: counts and latency, no memory or custom metrics.
    pub(crate) fn figures(&self) -> Figures<'_> {
        Figures {
            memory: None,
            classes: None,
            custom: None,
            resources: None,
            iterations: self.iterations,
            errors: self.errors,
            dropped: self.dropped,
            seconds: f64::from(self.seconds),
            latency: &self.latency,
        }
    }
}

impl Figures<'static> {
    /// No iterations at all (a tag never seen).
    pub(crate) fn empty() -> Figures<'static> {
        static EMPTY: std::sync::OnceLock<Histogram<u64>> = std::sync::OnceLock::new();
        Figures {
            memory: None,
            classes: None,
            custom: None,
            resources: None,
            iterations: 0,
            errors: 0,
            dropped: 0,
            seconds: 0.0,
            latency: EMPTY.get_or_init(new_histogram),
        }
    }
}
