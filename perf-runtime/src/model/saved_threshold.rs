//! Thresholds as a shard result stores them: the metric, operator and
//! limit in plain fields, read back into a [`Threshold`] for the merge.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::model::threshold::Threshold;

/// A threshold as stored in a shard result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SavedThreshold {
    /// As written (`p95 < 200ms`), for messages.
    pub text: String,
    /// The metric.
    pub metric: SavedMetric,
    /// `<`, `<=`, `>`, `>=` or `==`.
    pub op: String,
    /// The limit in the metric's unit (nanoseconds for latencies).
    pub limit: f64,
    /// Window length in seconds, for `per` thresholds.
    pub window_secs: Option<u64>,
    /// Tag, for `for "tag"` thresholds.
    pub tag: Option<String>,
    /// Phase, for `in "phase"` thresholds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<String>,
    /// The phase a relative limit is a factor of (`* "baseline"`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub relative_to: Option<String>,
}

/// A threshold's metric, as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[allow(missing_docs)]
pub enum SavedMetric {
    Mean,
    Min,
    Max,
    Percentile(f64),
    ErrorRate,
    Throughput,
    Dropped,
    DroppedRate,
    PeakHeap,
    AllocsPerIter,
    BytesPerIter,
    Leaks,
    LeakPerIter,
    ClassRate(String),
    Cpu(Option<String>),
    PeakRss(Option<String>),
    Checks(Option<String>),
    Capacity,
    Recovery(f64),
    Custom {
        name: String,
        stat: String,
        duration: bool,
    },
}

impl SavedMetric {
    pub(crate) fn save(metric: perf_spec::Metric) -> SavedMetric {
        use perf_spec::Metric as M;
        match metric {
            M::Mean => SavedMetric::Mean,
            M::Min => SavedMetric::Min,
            M::Max => SavedMetric::Max,
            M::Percentile(p) => SavedMetric::Percentile(p.value()),
            M::ErrorRate => SavedMetric::ErrorRate,
            M::Throughput => SavedMetric::Throughput,
            M::Dropped => SavedMetric::Dropped,
            M::DroppedRate => SavedMetric::DroppedRate,
            M::PeakHeap => SavedMetric::PeakHeap,
            M::AllocsPerIter => SavedMetric::AllocsPerIter,
            M::BytesPerIter => SavedMetric::BytesPerIter,
            M::Leaks => SavedMetric::Leaks,
            M::LeakPerIter => SavedMetric::LeakPerIter,
            M::ClassRate(c) => SavedMetric::ClassRate(c.to_owned()),
            M::Cpu(p) => SavedMetric::Cpu(p.map(str::to_owned)),
            M::PeakRss(p) => SavedMetric::PeakRss(p.map(str::to_owned)),
            M::Checks(c) => SavedMetric::Checks(c.map(str::to_owned)),
            M::Capacity => SavedMetric::Capacity,
            M::Recovery(p) => SavedMetric::Recovery(p.value()),
            M::Custom {
                name,
                stat,
                duration,
            } => SavedMetric::Custom {
                name: name.to_owned(),
                stat: stat.to_string(),
                duration,
            },
        }
    }

    /// The metric again (names are interned for the process's life).
    pub(crate) fn load(&self) -> Result<perf_spec::Metric, String> {
        use perf_spec::{Metric as M, Percentile, Stat};
        let p = |v: f64| Percentile::new(v);
        Ok(match self {
            SavedMetric::Mean => M::Mean,
            SavedMetric::Min => M::Min,
            SavedMetric::Max => M::Max,
            SavedMetric::Percentile(v) => M::Percentile(p(*v)?),
            SavedMetric::ErrorRate => M::ErrorRate,
            SavedMetric::Throughput => M::Throughput,
            SavedMetric::Dropped => M::Dropped,
            SavedMetric::DroppedRate => M::DroppedRate,
            SavedMetric::PeakHeap => M::PeakHeap,
            SavedMetric::AllocsPerIter => M::AllocsPerIter,
            SavedMetric::BytesPerIter => M::BytesPerIter,
            SavedMetric::Leaks => M::Leaks,
            SavedMetric::LeakPerIter => M::LeakPerIter,
            SavedMetric::ClassRate(c) => M::ClassRate(intern(c)),
            SavedMetric::Cpu(p) => M::Cpu(p.as_deref().map(intern)),
            SavedMetric::PeakRss(p) => M::PeakRss(p.as_deref().map(intern)),
            SavedMetric::Checks(c) => M::Checks(c.as_deref().map(intern)),
            SavedMetric::Capacity => M::Capacity,
            SavedMetric::Recovery(v) => M::Recovery(p(*v)?),
            SavedMetric::Custom {
                name,
                stat,
                duration,
            } => M::Custom {
                name: intern(name),
                stat: match stat.strip_prefix('p').and_then(|v| v.parse::<f64>().ok()) {
                    Some(v) => Stat::Percentile(p(v)?),
                    None => Stat::from_name(stat)
                        .ok_or_else(|| format!("unknown statistic `{stat}`"))?,
                },
                duration: *duration,
            },
        })
    }
}

impl SavedThreshold {
    pub(crate) fn save(t: &Threshold) -> SavedThreshold {
        let spec = t.0;
        SavedThreshold {
            text: t.to_string(),
            metric: SavedMetric::save(spec.metric),
            op: spec.op.to_string(),
            limit: spec.limit,
            window_secs: spec.window.map(|w| w.as_secs()),
            tag: spec.tag.map(str::to_owned),
            phase: spec.phase.map(str::to_owned),
            relative_to: spec.relative_to.map(str::to_owned),
        }
    }

    /// The threshold again (names are interned for the process's life).
    pub fn load(&self) -> Result<Threshold, String> {
        use perf_spec::Op;
        let metric = self.metric.load()?;
        let op = match self.op.as_str() {
            "<" => Op::Lt,
            "<=" => Op::Le,
            ">" => Op::Gt,
            ">=" => Op::Ge,
            "==" => Op::Eq,
            other => return Err(format!("unknown operator `{other}`")),
        };
        let spec = perf_spec::ThresholdSpec {
            metric,
            op,
            limit: self.limit,
            window: self.window_secs.map(Duration::from_secs),
            tag: self.tag.as_deref().map(intern),
            phase: self.phase.as_deref().map(intern),
            relative_to: self.relative_to.as_deref().map(intern),
        };
        spec.check()
            .map_err(|e| format!("threshold `{}`: {e}", self.text))?;
        Ok(Threshold::from_spec(spec))
    }
}

/// A name read from a file as the `&'static str` a [`perf_spec::Metric`]
/// holds: each distinct name is kept once for the process's life, so
/// reading a thousand shard results of one test costs its names once.
pub(crate) fn intern(name: &str) -> &'static str {
    static NAMES: std::sync::Mutex<std::collections::BTreeSet<&'static str>> =
        std::sync::Mutex::new(std::collections::BTreeSet::new());
    let mut names = NAMES
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some(&known) = names.get(name) {
        return known;
    }
    let kept: &'static str = Box::leak(name.to_owned().into_boxed_str());
    names.insert(kept);
    kept
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_read_from_files_are_kept_once() {
        let a = intern(&String::from("cold_invoke"));
        let b = intern(&String::from("cold_invoke"));
        assert!(std::ptr::eq(a, b));
        assert_eq!(a, "cold_invoke");
    }
}
