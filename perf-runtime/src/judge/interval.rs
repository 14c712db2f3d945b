//! Confidence intervals for judged figures, and the three verdicts they
//! give a threshold: *pass* (the whole interval is on the right side of the
//! limit), *fail* (the whole interval is on the wrong side), *inconclusive*
//! (the limit lies inside it).
//!
//! - **Percentiles**: distribution-free, from order statistics. The number
//!   of samples below the true quantile is binomial(n, q); the interval is
//!   the two samples whose ranks leave each tail of that binomial as close
//!   to `(1 − confidence) / 2` as a whole rank can (computed exactly, from
//!   the log-gamma form), widened to the edges of their histogram buckets (HdrHistogram keeps values to 3 significant
//!   digits, so a bucket is at most 0.1% wide). A rank beyond the samples
//!   leaves that side unbounded (0 below, +∞ above): the run cannot say.
//! - **Mean**: the normal approximation (central limit theorem), mean ±
//!   z·s/√n with the samples' standard deviation. Latencies are skewed;
//!   at 200 samples of a log-normal the coverage is still within 93–97%
//!   (see the coverage test).
//! - **Error rate, class rates, dropped rate**: the Wilson score interval,
//!   which stays inside [0, 1] and is right at 0 failures.
//! - **Throughput**: the score interval of a Poisson count over the run's
//!   length (the length is known; the count is what varies).
//! - **Custom metrics**: a duration metric's percentiles as the latency's
//!   (order statistics of its histogram), a metric's mean as the latency's
//!   (normal approximation, with the values' standard deviation from
//!   Welford's update, merged across workers and shards with Chan's
//!   formula). Their sum, min, max and count are exact.
//! - Exact counts (memory figures, `dropped`, min, max) have no interval:
//!   their verdict is the value's.
//!
//! Neighbouring iterations are often alike (a burst of preemption slows
//! a second's worth at once): on a run of 10 seconds or more, the
//! intervals of percentiles, the mean, the error and dropped rates and
//! throughput are widened by the design effect measured from the run's
//! seconds ([`crate::judge::blocks`]); shorter runs are judged as
//! independent samples.

use hdrhistogram::Histogram;

use perf_spec::{Metric, Stat, ThresholdSpec};

use crate::judge::figures::Figures;
pub(crate) use crate::judge::order::{percentile, percentile_thinned, samples_to_bound};
use crate::model::threshold::{Decision, Interval, ThresholdOutcome};

/// The two-sided standard normal quantile for `confidence` (0.95 → 1.96),
/// by Acklam's rational approximation (relative error below 1.2e-9).
pub(crate) fn z_for(confidence: f64) -> f64 {
    let p = 1.0 - (1.0 - confidence) / 2.0;
    normal_quantile(p)
}

pub(crate) fn normal_quantile(p: f64) -> f64 {
    const A: [f64; 6] = [
        -3.969_683_028_665_376e1,
        2.209_460_984_245_205e2,
        -2.759_285_104_469_687e2,
        1.383_577_518_672_69e2,
        -3.066_479_806_614_716e1,
        2.506_628_277_459_239,
    ];
    const B: [f64; 5] = [
        -5.447_609_879_822_406e1,
        1.615_858_368_580_409e2,
        -1.556_989_798_598_866e2,
        6.680_131_188_771_972e1,
        -1.328_068_155_288_572e1,
    ];
    const C: [f64; 6] = [
        -7.784_894_002_430_293e-3,
        -3.223_964_580_411_365e-1,
        -2.400_758_277_161_838,
        -2.549_732_539_343_734,
        4.374_664_141_464_968,
        2.938_163_982_698_783,
    ];
    const D: [f64; 4] = [
        7.784_695_709_041_462e-3,
        3.224_671_290_700_398e-1,
        2.445_134_137_142_996,
        3.754_408_661_907_416,
    ];
    let tail = |q: f64| {
        (((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5])
            / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    };
    if p < 0.02425 {
        tail((-2.0 * p.ln()).sqrt())
    } else if p > 1.0 - 0.02425 {
        -tail((-2.0 * (1.0 - p).ln()).sqrt())
    } else {
        let q = p - 0.5;
        let r = q * q;
        (((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q
            / (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1.0)
    }
}

/// The interval of the samples' mean.
pub(crate) fn mean(h: &Histogram<u64>, z: f64) -> Option<(f64, f64)> {
    let n = h.len();
    if n < 2 {
        return None;
    }
    let half = z * h.stdev() / (n as f64).sqrt();
    Some(((h.mean() - half).max(0.0), h.mean() + half))
}

/// The interval of a rate of `n` events in `seconds`: the score interval
/// of a Poisson count, `(n + z²/2 ± z·√(n + z²/4)) / seconds`. Iterations
/// of a closed loop arrive more regularly than Poisson events, so this is
/// on the wide (safe) side for throughput.
pub(crate) fn rate(n: u64, seconds: f64, z: f64) -> Option<(f64, f64)> {
    if seconds <= 0.0 || !seconds.is_finite() {
        return None;
    }
    let n = n as f64;
    let centre = n + z * z / 2.0;
    let half = z * (n + z * z / 4.0).sqrt();
    Some((
        ((centre - half) / seconds).max(0.0),
        (centre + half) / seconds,
    ))
}

/// The Wilson score interval of `k` successes in `n` trials.
pub(crate) fn wilson(k: u64, n: u64, z: f64) -> Option<(f64, f64)> {
    if n == 0 {
        return None;
    }
    let (all, none) = (k >= n, k == 0);
    let (n, p) = (n as f64, k as f64 / n as f64);
    let z2 = z * z;
    let centre = (p + z2 / (2.0 * n)) / (1.0 + z2 / n);
    let half = z * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt() / (1.0 + z2 / n);
    // At 0 or n successes a bound is exactly 0 or 1 (rounding aside).
    let low = if none { 0.0 } else { (centre - half).max(0.0) };
    let high = if all { 1.0 } else { (centre + half).min(1.0) };
    Some((low, high))
}

/// The decision of `holds` (the limit test) on an interval: pass if it
/// holds at both ends, fail if at neither.
pub(crate) fn decide(interval: (f64, f64), holds: impl Fn(f64) -> bool) -> Decision {
    match (holds(interval.0), holds(interval.1)) {
        (true, true) => Decision::Pass,
        (false, false) => Decision::Fail,
        _ => Decision::Inconclusive,
    }
}

/// Iterations beyond `n` that would likely shrink the interval to clear
/// `limit` at the observed spread (an interval's half-width falls as
/// 1/√n). A side the run could not bound takes the other side's width as
/// the spread; `at_least` is the sample count below which that side stays
/// unbounded. `None` when the value sits on the limit.
pub(crate) fn more_iterations(
    n: u64,
    value: f64,
    interval: (f64, f64),
    limit: f64,
    at_least: u64,
) -> Option<u64> {
    let gap = (value - limit).abs();
    let (below, above) = (value - interval.0, interval.1 - value);
    let toward_limit = if limit >= value { above } else { below };
    let other = if limit >= value { below } else { above };
    let half = if toward_limit.is_finite() {
        toward_limit
    } else {
        other
    };
    if gap <= 0.0 || !half.is_finite() || half <= 0.0 || n == 0 {
        return None;
    }
    let needed = (n as f64 * (half / gap).powi(2))
        .ceil()
        .max(at_least as f64);
    (needed.is_finite() && needed < 1e12).then(|| (needed as u64).saturating_sub(n).max(1))
}

/// The interval of a figure estimated from samples (see
/// [`crate::judge::interval`]), `None` for exact ones.
pub(crate) fn interval_of(metric: Metric, f: &Figures<'_>, confidence: f64) -> Option<(f64, f64)> {
    interval_with(metric, f, confidence, 1.0)
}

/// [`interval_of`] widened by the design effect `d` of neighbouring
/// iterations' likeness ([`crate::judge::blocks`]; 1 for independent
/// samples): counts are taken as `n / d` samples, the mean's half-width
/// grows by `√d`.
pub(crate) fn interval_with(
    metric: Metric,
    f: &Figures<'_>,
    confidence: f64,
    d: f64,
) -> Option<(f64, f64)> {
    let z = z_for(confidence);
    let d = if d.is_finite() { d.max(1.0) } else { 1.0 };
    // A count of `k` in `n` as `n / d` independent samples.
    let thin = |k: u64, n: u64| ((k as f64 / d).round() as u64, (n as f64 / d).round() as u64);
    match metric {
        Metric::Percentile(p) => percentile_thinned(f.latency, p.value(), 1.0 - confidence, d),
        Metric::Mean => mean(f.latency, z * d.sqrt()),
        Metric::ErrorRate => {
            let (k, n) = thin(f.errors, f.iterations);
            wilson(k, n.max(1).min(f.iterations), z)
        }
        Metric::DroppedRate => {
            let (k, n) = thin(f.dropped, f.iterations + f.dropped);
            wilson(k, n.max(1).min(f.iterations + f.dropped), z)
        }
        Metric::ClassRate(class) => {
            let failed = f.classes?.get(class).copied().unwrap_or(0);
            wilson(failed, f.iterations, z)
        }
        Metric::Checks(_) => {
            let (passed, count) = crate::judge::threshold::checks(metric, f)?;
            wilson(passed, count, z)
        }
        Metric::Throughput => rate(f.iterations, f.seconds, z * d.sqrt()),
        Metric::Custom { name, stat, .. } => {
            let c = f.custom?.get(name)?;
            match stat {
                Stat::Mean => {
                    let half = z * c.stdev? / (c.count as f64).sqrt();
                    Some((c.mean - half, c.mean + half))
                }
                Stat::Percentile(p) => {
                    percentile(c.histogram.as_ref()?, p.value(), 1.0 - confidence)
                }
                _ => None,
            }
        }
        _ => None,
    }
}

/// Adds the interval of the observed value `v`, what it decides, and for
/// an undecided one how many more iterations would likely decide it.
pub(crate) fn judge_interval(
    outcome: &mut ThresholdOutcome,
    spec: ThresholdSpec,
    f: &Figures<'_>,
    v: f64,
    confidence: f64,
    design_effect: Option<f64>,
) {
    let metric = spec.metric;
    let d = design_effect.unwrap_or(1.0);
    let Some((low, high)) = interval_with(metric, f, confidence, d) else {
        return;
    };
    outcome.blocks = (d > 1.0).then_some(d);
    let (op, limit) = (spec.op, spec.limit);
    let decision = decide((low, high), |x| op.holds(x, limit));
    if let Metric::Percentile(p) = metric {
        outcome.sample_size = perf_spec::too_few_beyond(p.value(), f.latency.len());
    }
    outcome.interval = Some(Interval {
        confidence,
        low,
        high: high.is_finite().then_some(high),
    });
    if decision == Decision::Inconclusive {
        let n = match metric {
            Metric::DroppedRate => f.iterations + f.dropped,
            Metric::Custom { name, .. } => {
                f.custom.and_then(|c| c.get(name)).map_or(0, |c| c.count)
            }
            _ => f.iterations.max(f.latency.len()),
        };
        let at_least = match metric {
            Metric::Percentile(p)
            | Metric::Custom {
                stat: Stat::Percentile(p),
                ..
            } => samples_to_bound(p.value(), 1.0 - confidence),
            _ => 0,
        };
        outcome.more_iterations = more_iterations(n, v, (low, high), limit, at_least);
    }
    outcome.decision = Some(decision);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::judge::synthetic::Shape;
    use crate::model::measured::new_histogram;
    use rand::{rngs::StdRng, SeedableRng};

    #[test]
    fn the_normal_quantiles_are_the_textbook_ones() {
        assert!((z_for(0.95) - 1.959_964).abs() < 1e-5);
        assert!((z_for(0.99) - 2.575_829).abs() < 1e-5);
        assert!((z_for(0.90) - 1.644_854).abs() < 1e-5);
    }

    #[test]
    fn wilson_stays_inside_zero_and_one() {
        let (lo, hi) = wilson(0, 100, 1.96).unwrap();
        assert_eq!(lo, 0.0);
        assert!(hi > 0.03 && hi < 0.04, "{hi}");
        let (lo, hi) = wilson(100, 100, 1.96).unwrap();
        assert!(lo > 0.96 && hi == 1.0, "{lo} {hi}");
        assert_eq!(wilson(0, 0, 1.96), None);
    }

    #[test]
    fn a_rank_beyond_the_samples_leaves_that_side_open() {
        let mut h = new_histogram();
        for v in 1..=100u64 {
            h.record(v * 1_000).unwrap();
        }
        let (lo, hi) = percentile(&h, 99.9, 0.05).unwrap();
        assert!(lo > 90_000.0, "{lo}");
        assert_eq!(hi, f64::INFINITY, "100 samples cannot bound p99.9 above");
    }

    /// Over 1,000 seeded runs per distribution and size, the 95% intervals
    /// of p50, p95, p99 and the mean contain the true value in 93–97% of
    /// runs. Prints the table (docs/src/verdicts.md, "Confidence intervals").
    #[test]
    fn intervals_cover_the_truth_as_often_as_they_say() {
        let runs = 1_000;
        let qs = [0.50, 0.95, 0.99];
        let z = z_for(0.95);
        let mut table = String::from(
            "| distribution | samples | p50 | p95 | p99 | mean |\n|---|---|---|---|---|---|\n",
        );
        let mut failures = Vec::new();
        for (name, shape) in [
            ("log-normal", Shape::LogNormal),
            ("exponential", Shape::Exponential),
            ("bimodal", Shape::Bimodal),
        ] {
            let (true_q, true_mean) = shape.truth(&qs);
            for n in [200usize, 2_000, 20_000] {
                let mut covered = [0u32; 4];
                let mut rng = StdRng::seed_from_u64(n as u64 ^ 0x5EED);
                for _ in 0..runs {
                    let mut h = new_histogram();
                    for _ in 0..n {
                        h.record(shape.sample(&mut rng).round().max(1.0) as u64)
                            .unwrap();
                    }
                    for (i, q) in qs.iter().enumerate() {
                        let (lo, hi) = percentile(&h, q * 100.0, 0.05).unwrap();
                        covered[i] += u32::from(lo <= true_q[i] && true_q[i] <= hi);
                    }
                    let (lo, hi) = mean(&h, z).unwrap();
                    covered[3] += u32::from(lo <= true_mean && true_mean <= hi);
                }
                let pct: Vec<f64> = covered
                    .iter()
                    .map(|&c| 100.0 * f64::from(c) / runs as f64)
                    .collect();
                table.push_str(&format!(
                    "| {name} | {n} | {:.1}% | {:.1}% | {:.1}% | {:.1}% |\n",
                    pct[0], pct[1], pct[2], pct[3]
                ));
                for (figure, p) in ["p50", "p95", "p99", "mean"].iter().zip(&pct) {
                    if !(93.0..=97.0).contains(p) {
                        failures.push(format!("{name} n={n} {figure}: {p:.1}%"));
                    }
                }
            }
        }
        println!("{table}");
        assert!(
            failures.is_empty(),
            "coverage outside 93–97%: {failures:?}\n{table}"
        );
    }

    /// With the limit 20% above the true p95 and 20,000 samples the
    /// verdict is pass in ≥ 99% of runs; with the limit at the true p95 it
    /// is inconclusive in ≥ 90% and fail in ≤ 2.5%.
    #[test]
    fn verdicts_are_right_as_often_as_promised() {
        let shape = Shape::LogNormal;
        let (true_q, _) = shape.truth(&[0.95]);
        let mut rng = StdRng::seed_from_u64(42);
        let (mut pass_far, mut inconclusive_at, mut fail_at) = (0, 0, 0);
        let runs = 500;
        for _ in 0..runs {
            let mut h = new_histogram();
            for _ in 0..20_000 {
                h.record(shape.sample(&mut rng).round() as u64).unwrap();
            }
            let interval = percentile(&h, 95.0, 0.05).unwrap();
            let below = |limit: f64| move |v: f64| v < limit;
            pass_far += u32::from(decide(interval, below(true_q[0] * 1.2)) == Decision::Pass);
            match decide(interval, below(true_q[0])) {
                Decision::Inconclusive => inconclusive_at += 1,
                Decision::Fail => fail_at += 1,
                Decision::Pass => {}
            }
        }
        let share = |k: u32| f64::from(k) / runs as f64;
        assert!(share(pass_far) >= 0.99, "pass {}", share(pass_far));
        assert!(
            share(inconclusive_at) >= 0.90,
            "inconclusive {}",
            share(inconclusive_at)
        );
        assert!(share(fail_at) <= 0.025, "fail {}", share(fail_at));
    }

    #[test]
    fn a_custom_metric_has_its_spread_merged_and_an_interval() {
        use crate::model::measured::CustomAgg;
        use crate::model::report::CustomStats;
        use crate::model::threshold::Threshold;
        let values: Vec<f64> = (0..1_000).map(|i| 1e6 + f64::from(i % 37) * 1e4).collect();
        // Two workers' parts merged, against the textbook formula.
        let mut parts = [CustomAgg::new("value", None), CustomAgg::new("value", None)];
        for (i, v) in values.iter().enumerate() {
            parts[usize::from(i % 3 == 0)].add_value(*v);
        }
        let [mut all, other] = parts;
        all.add_part(other.count, other.sum, other.m2, other.min, other.max);
        let mean = values.iter().sum::<f64>() / 1_000.0;
        let var = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / 999.0;
        assert!((all.stdev().unwrap() - var.sqrt()).abs() < 1e-6 * var.sqrt());
        // A part without its spread (an older shard): no interval, not a wrong one.
        let mut unknown = CustomAgg::new("value", None);
        unknown.add_part(10, 10.0, None, 1.0, 1.0);
        assert_eq!(unknown.stdev(), None);

        let mut h = new_histogram();
        let mut durations = CustomAgg::new("duration", None);
        for v in &values {
            h.record(*v as u64).unwrap();
            durations.add_value(*v);
        }
        durations.histogram = Some(h);
        let custom = [
            ("rcu".to_owned(), CustomStats::of(&all, &[95.0])),
            ("cold".to_owned(), CustomStats::of(&durations, &[95.0])),
        ]
        .into_iter()
        .collect();
        let empty = new_histogram();
        let figures = Figures {
            custom: Some(&custom),
            resources: None,
            ..Figures::tagged(&empty, 0, 1.0)
        };
        let judged = |t: Threshold| {
            let o = t.evaluate_judged(Default::default(), &figures, &Default::default(), 0);
            (o.decision, o.interval)
        };
        // The mean is 1.18e6 ± ~6.7e3 (sd ~1.07e5 over √1000, ×1.96).
        let (far, iv) = judged(Threshold::of("rcu").mean().lt(1.25e6));
        assert_eq!(far, Some(Decision::Pass));
        let iv = iv.unwrap();
        assert!(iv.low < mean && iv.high.unwrap() > mean && iv.high.unwrap() - iv.low < 2e4);
        assert_eq!(
            judged(Threshold::of("rcu").mean().lt(mean)).0,
            Some(Decision::Inconclusive)
        );
        let limit = std::time::Duration::from_micros;
        let (p95, iv) = judged(Threshold::of("cold").p(95.0).lt_duration(limit(1_500)));
        assert_eq!(p95, Some(Decision::Pass));
        assert!(iv.unwrap().high.is_some());
        assert_eq!(
            judged(Threshold::of("cold").p(95.0).lt_duration(limit(1_340))).0,
            Some(Decision::Inconclusive),
            "a limit at the values around the p95 (1.34ms, 1.35ms)"
        );
    }

    #[test]
    fn more_iterations_follow_the_square_root_law() {
        // Half-width 10 at n = 1,000; the value 5 below the limit: the
        // interval must halve, which takes four times the samples.
        assert_eq!(
            more_iterations(1_000, 95.0, (85.0, 105.0), 100.0, 0),
            Some(3_000)
        );
        assert_eq!(more_iterations(1_000, 100.0, (90.0, 110.0), 100.0, 0), None);
        // Unbounded above: the spread below stands in for it, and the
        // samples must be enough to bound it at all.
        assert_eq!(
            more_iterations(1_000, 95.0, (85.0, f64::INFINITY), 100.0, 0),
            Some(3_000)
        );
        assert_eq!(
            more_iterations(30, 26.0, (22.0, f64::INFINITY), 50.0, 72),
            Some(42)
        );
        // p95 at 95%: 0.95^72 < 0.025 < 0.95^71.
        assert_eq!(samples_to_bound(95.0, 0.05), 72);
        assert_eq!(samples_to_bound(50.0, 0.05), 6);
    }
}
