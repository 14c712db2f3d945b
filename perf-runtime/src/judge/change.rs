//! The change of one latency statistic between the runs of a baseline and
//! of a new measurement, on the log scale, with the standard error that
//! the between-run spread gives it (see `perf_runtime::stats`).

use hdrhistogram::Histogram;

use crate::judge::interval;
use crate::judge::stats::{quantile_samples_needed, MIN_SAMPLES};
use crate::judge::student::{t_quantile_upper, t_upper};
use crate::model::report::Report;

/// The length of one stretch of scheduler time that delays the
/// iterations inside it together: a few scheduler slices (Linux CFS's
/// scheduling period is 6 ms × (1 + log2 CPUs): 12 ms on 2 CPUs).
pub(crate) const EPISODE_NS: f64 = 10e6;

/// A latency statistic.
#[derive(Clone, Copy)]
pub(crate) enum Stat {
    Mean,
    Quantile(f64),
}

impl Stat {
    pub(crate) fn of(name: &str) -> Stat {
        match name {
            "mean" => Stat::Mean,
            _ => {
                Stat::Quantile(name.trim_start_matches('p').parse::<f64>().unwrap_or(50.0) / 100.0)
            }
        }
    }

    pub(crate) fn value(self, h: &Histogram<u64>) -> f64 {
        match self {
            Stat::Mean => h.mean(),
            Stat::Quantile(q) => h.value_at_quantile(q) as f64,
        }
    }

    /// Samples a side needs, if the `n` of a side whose mean latency is
    /// `mean_ns` are too few.
    ///
    /// A quantile's tail must hold [`MIN_TAIL_SAMPLES`](crate::judge::stats::MIN_TAIL_SAMPLES)
    /// *stretches of scheduler time*, not only that many iterations:
    /// iterations shorter than [`EPISODE_NS`] come in clusters that one
    /// descheduling delays together (a runnable neighbour takes the core for
    /// a slice of a few milliseconds), so 10 iterations beyond p99 of a
    /// 500 µs body can all be one such event, and a gate on them flags
    /// unchanged code whenever a run meets one. Bodies of 10 ms and more
    /// are not clustered this way.
    pub(crate) fn short_of(self, n: u64, mean_ns: f64) -> Option<u64> {
        let need = match self {
            Stat::Mean => MIN_SAMPLES,
            Stat::Quantile(q) => {
                let per_episode = if mean_ns.is_finite() && mean_ns > 0.0 {
                    (EPISODE_NS / mean_ns).max(1.0)
                } else {
                    1.0
                };
                (quantile_samples_needed(q) as f64 * per_episode).ceil() as u64
            }
        };
        (n < need).then(|| need - n)
    }

    /// The variance of `ln(value)` from sampling alone (iterations taken as
    /// independent): the delta method for the mean, the order-statistic
    /// interval for a quantile.
    fn sampling_variance(self, h: &Histogram<u64>) -> f64 {
        let z = interval::z_for(0.95);
        let se = match self {
            Stat::Mean => h.stdev() / (h.mean().max(1.0) * (h.len() as f64).sqrt()),
            Stat::Quantile(q) => match interval::percentile(h, q * 100.0, 0.05) {
                Some((lo, hi)) if hi.is_finite() => {
                    (hi.max(1.0).ln() - lo.max(1.0).ln()) / (2.0 * z)
                }
                _ => f64::INFINITY,
            },
        };
        se * se
    }
}

/// The histograms of a report's runs: each run's own when it has several.
pub(crate) fn runs_of(r: &Report) -> Vec<&Histogram<u64>> {
    if r.runs.len() >= 2 {
        r.runs.iter().map(|run| &run.histogram).collect()
    } else {
        vec![&r.histogram]
    }
}

/// `ln` of each run's value.
pub(crate) fn logs(runs: &[&Histogram<u64>], stat: Stat) -> Vec<f64> {
    runs.iter().map(|h| stat.value(h).max(1.0).ln()).collect()
}

pub(crate) fn mean(xs: &[f64]) -> f64 {
    xs.iter().sum::<f64>() / xs.len() as f64
}

/// The sample variance (`n − 1`).
fn variance(xs: &[f64]) -> f64 {
    let m = mean(xs);
    xs.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / (xs.len() as f64 - 1.0)
}

/// The estimated change of one metric, on the log scale.
pub(crate) struct Estimate {
    /// `ln(new / old)` (of the runs' geometric means).
    pub(crate) log_ratio: f64,
    /// Its standard error.
    pub(crate) se: f64,
    /// Degrees of freedom of `se` (`∞`: known from sampling alone).
    pub(crate) df: f64,
    /// One run on each side: the run-to-run noise is unknown.
    pub(crate) single: bool,
}

impl Estimate {
    /// `P(change > by)` under "the change is `by`" (one-sided p-value of
    /// "the change exceeds `by`", on the log scale).
    pub(crate) fn p_above(&self, by: f64) -> f64 {
        if self.se == 0.0 {
            return if self.log_ratio > by { 0.0 } else { 1.0 };
        }
        t_upper((self.log_ratio - by) / self.se, self.df)
    }

    /// The relative-delta interval, each side one-sided at `alpha`.
    pub(crate) fn interval(&self, alpha: f64) -> [f64; 2] {
        let half = t_quantile_upper(alpha, self.df) * self.se;
        [
            (self.log_ratio - half).exp() - 1.0,
            (self.log_ratio + half).exp() - 1.0,
        ]
    }
}

/// Estimates the change of `stat` between the runs of `old` and `new`.
///
/// - Several runs on a side: their per-run values' spread is the noise
///   (it holds the sampling noise, the dependence between neighbouring
///   iterations, and whatever differs between runs); pooled when both
///   sides have several, with Student's t on the pooled degrees of freedom.
/// - Several runs on one side only: that side's spread stands for both
///   (the single run is one more draw from the same machine noise).
/// - One run on each side: sampling noise alone, and `single` (the caller
///   does not call that a regression).
///
/// The variance never drops below the sampling variance: five runs can
/// agree more closely by chance than their samples allow.
pub(crate) fn estimate(old: &[&Histogram<u64>], new: &[&Histogram<u64>], stat: Stat) -> Estimate {
    let (a, b) = (logs(old, stat), logs(new, stat));
    let (k, l) = (a.len() as f64, b.len() as f64);
    let merged_variance = |runs: &[&Histogram<u64>]| {
        // The sampling variance of the side's value, from all its runs.
        let each: Vec<f64> = runs.iter().map(|h| stat.sampling_variance(h)).collect();
        mean(&each) / runs.len() as f64
    };
    let sampling = merged_variance(old) + merged_variance(new);
    let (variance, df) = match (a.len(), b.len()) {
        (1, 1) => (sampling, f64::INFINITY),
        (_, 1) => (variance(&a) * (1.0 + 1.0 / k), k - 1.0),
        (1, _) => (variance(&b) * (1.0 + 1.0 / l), l - 1.0),
        _ => {
            let pooled = ((k - 1.0) * variance(&a) + (l - 1.0) * variance(&b)) / (k + l - 2.0);
            (pooled * (1.0 / k + 1.0 / l), k + l - 2.0)
        }
    };
    Estimate {
        log_ratio: mean(&b) - mean(&a),
        se: variance.max(sampling).sqrt(),
        df,
        single: a.len() == 1 && b.len() == 1,
    }
}

/// Estimates the change of `stat` from rounds of A/B pairs: round `i` ran
/// `old[i]` and `new[i]` back to back (ABBA order), so the machine's drift
/// between rounds moves both alike and cancels in each round's difference
/// `ln(new_i) − ln(old_i)`. The change is those differences' mean, with
/// Student's t on their spread (`n − 1` degrees of freedom), never
/// narrower than the samples allow. Fewer than 2 pairs (or unequal
/// sides): the unpaired [`estimate`].
pub(crate) fn paired_estimate(
    old: &[&Histogram<u64>],
    new: &[&Histogram<u64>],
    stat: Stat,
) -> Estimate {
    if old.len() != new.len() || old.len() < 2 {
        return estimate(old, new, stat);
    }
    let d: Vec<f64> = logs(new, stat)
        .iter()
        .zip(logs(old, stat))
        .map(|(b, a)| b - a)
        .collect();
    let n = d.len() as f64;
    let sampling: f64 = old
        .iter()
        .chain(new)
        .map(|h| stat.sampling_variance(h))
        .sum::<f64>()
        / (n * n);
    Estimate {
        log_ratio: mean(&d),
        se: (variance(&d) / n).max(sampling).sqrt(),
        df: n - 1.0,
        single: false,
    }
}
