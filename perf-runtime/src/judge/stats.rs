//! The statistics of comparisons (see `perf_runtime::stats` for the
//! methods and why): rank, quantile and proportion tests.

use std::collections::BTreeMap;

use hdrhistogram::Histogram;

use crate::judge::student::normal_upper;

/// The significance level used when none is given.
pub const DEFAULT_ALPHA: f64 = 0.05;

/// Differences smaller than this (relative) are never called significant,
/// however small their p-value: with thousands of tight samples a 0.3%
/// shift (a warmer cache, a CPU clock step) is "real" and meaningless.
/// criterion's noise threshold, with its default of 1%.
pub const NOISE_THRESHOLD: f64 = 0.01;

/// A difference is significant: `p < alpha` and larger than the noise
/// threshold.
pub fn significant(p_value: Option<f64>, delta: f64) -> bool {
    p_value.is_some_and(|p| p < DEFAULT_ALPHA) && delta.abs() > NOISE_THRESHOLD
}

/// Samples each side needs for a normal approximation (Mann-Whitney, the
/// mean, the error rate).
pub(crate) const MIN_SAMPLES: u64 = 20;
/// Expected samples beyond a quantile each side needs.
pub(crate) const MIN_TAIL_SAMPLES: f64 = 5.0;

/// Samples a side needs for its `q`-quantile to be compared: `n·(1 − q)`
/// (or `n·q`) at least [`MIN_TAIL_SAMPLES`].
pub(crate) fn quantile_samples_needed(q: f64) -> u64 {
    (MIN_TAIL_SAMPLES / (1.0 - q).min(q)).ceil() as u64
}

/// A one-sided test's outcome: the p-value of "new is worse than old", or
/// how many more iterations a conclusive answer needs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Test {
    /// The p-value of the one-sided test.
    P(f64),
    /// Too few samples; this many more iterations (in the smaller run).
    NeedMore(u64),
}

/// Mann-Whitney U, one-sided: is `new` stochastically greater than `old`?
pub fn mann_whitney_greater(old: &Histogram<u64>, new: &Histogram<u64>) -> Test {
    let (n1, n2) = (old.len(), new.len());
    if n1.min(n2) < MIN_SAMPLES {
        return Test::NeedMore(MIN_SAMPLES - n1.min(n2));
    }
    let mut counts: BTreeMap<u64, (u64, u64)> = BTreeMap::new();
    for v in old.iter_recorded() {
        counts
            .entry(old.highest_equivalent(v.value_iterated_to()))
            .or_default()
            .0 += v.count_at_value();
    }
    for v in new.iter_recorded() {
        counts
            .entry(new.highest_equivalent(v.value_iterated_to()))
            .or_default()
            .1 += v.count_at_value();
    }
    let (n1f, n2f) = (n1 as f64, n2 as f64);
    let n = n1f + n2f;
    let (mut below, mut rank_sum_new, mut ties) = (0.0f64, 0.0f64, 0.0f64);
    for (a, b) in counts.values() {
        let t = (*a + *b) as f64;
        let mid_rank = below + (t + 1.0) / 2.0;
        rank_sum_new += *b as f64 * mid_rank;
        ties += t * t * t - t;
        below += t;
    }
    let u = rank_sum_new - n2f * (n2f + 1.0) / 2.0;
    let mean = n1f * n2f / 2.0;
    let variance = n1f * n2f / 12.0 * ((n + 1.0) - ties / (n * (n - 1.0)));
    if variance <= 0.0 {
        // Every sample equal: no evidence of any difference.
        return Test::P(1.0);
    }
    // Continuity correction towards the mean.
    let z = (u - mean - 0.5) / variance.sqrt();
    Test::P(normal_upper(z))
}

/// One-sided quantile test: is the `q`-quantile of `new` above that of
/// `old`? See the module docs.
pub fn quantile_greater(old: &Histogram<u64>, new: &Histogram<u64>, q: f64) -> Test {
    let need = quantile_samples_needed(q);
    if old.len().min(new.len()) < need {
        return Test::NeedMore(need - old.len().min(new.len()));
    }
    let (n1, n2) = (old.len() as f64, new.len() as f64);
    let threshold = old.value_at_quantile(q);
    let above = new.count_between(old.highest_equivalent(threshold) + 1, u64::MAX) as f64;
    let observed = above / n2;
    let sd = (q * (1.0 - q) * (1.0 / n1 + 1.0 / n2)).sqrt();
    Test::P(normal_upper((observed - (1.0 - q)) / sd))
}

/// One-sided two-proportion z-test: is `new_errors / new_total` above
/// `old_errors / old_total`?
pub fn proportion_greater(
    old_errors: u64,
    old_total: u64,
    new_errors: u64,
    new_total: u64,
) -> Test {
    let (n1, n2) = (old_total as f64, new_total as f64);
    if old_total == 0 || new_total == 0 {
        return Test::NeedMore(MIN_SAMPLES);
    }
    let pooled = (old_errors + new_errors) as f64 / (n1 + n2);
    if pooled == 0.0 || pooled == 1.0 {
        return Test::P(1.0);
    }
    if pooled * (n1 + n2) < MIN_TAIL_SAMPLES {
        // Too few errors to tell: with this rate, how many more iterations
        // would give 5 expected errors?
        let needed = (MIN_TAIL_SAMPLES / pooled).ceil() - (n1 + n2);
        return Test::NeedMore(needed.max(1.0) as u64);
    }
    let diff = new_errors as f64 / n2 - old_errors as f64 / n1;
    let sd = (pooled * (1.0 - pooled) * (1.0 / n1 + 1.0 / n2)).sqrt();
    Test::P(normal_upper(diff / sd))
}

/// A relative change for people: `+12.3%`, `-4.0%`, `+∞%`.
pub fn format_delta(delta: f64) -> String {
    if delta.is_infinite() {
        "+∞%".into()
    } else {
        format!("{:+.1}%", delta * 100.0)
    }
}

/// A p-value for people, to `digits` decimals: `0.012`, or `<0.001` when
/// it rounds to zero.
pub fn format_p(p: f64, digits: usize) -> String {
    let floor = 10f64.powi(-(digits as i32));
    if p < floor {
        format!("<{floor:.digits$}")
    } else {
        format!("{p:.digits$}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::StdRng;
    use rand::SeedableRng;
    use rand_distr::{Distribution, LogNormal};

    /// `n` latencies around 10 ms, log-normal (a typical service), scaled.
    fn run(seed: u64, n: usize, scale: f64) -> Histogram<u64> {
        let mut rng = StdRng::seed_from_u64(seed);
        let dist = LogNormal::new((10e6f64).ln(), 0.5).unwrap();
        let mut h = Histogram::new(3).unwrap();
        for _ in 0..n {
            h.record((dist.sample(&mut rng) * scale) as u64).unwrap();
        }
        h
    }

    fn p(t: Test) -> f64 {
        match t {
            Test::P(p) => p,
            Test::NeedMore(n) => panic!("inconclusive: need {n} more"),
        }
    }

    // 10,000 iterations: 500 beyond p95, enough for a p95 to be known to
    // a few percent.
    const N: usize = 10_000;

    #[test]
    fn identical_distributions_are_flagged_at_the_rate_alpha_says() {
        let mut significant = 0;
        for seed in 0..200 {
            let (old, new) = (run(seed, N, 1.0), run(seed + 10_000, N, 1.0));
            significant += usize::from(p(mann_whitney_greater(&old, &new)) < DEFAULT_ALPHA);
            significant += usize::from(p(quantile_greater(&old, &new, 0.95)) < DEFAULT_ALPHA);
        }
        // One-sided tests at 5% flag about 5% of identical pairs.
        assert!(
            significant <= 40,
            "{significant} of 400 significant at alpha 0.05"
        );
    }

    #[test]
    fn a_twenty_percent_shift_with_enough_samples_is_always_significant() {
        for seed in 0..200 {
            let (old, new) = (run(seed, N, 1.0), run(seed + 10_000, N, 1.2));
            assert!(p(mann_whitney_greater(&old, &new)) < 0.01, "seed {seed}");
            assert!(p(quantile_greater(&old, &new, 0.95)) < 0.01, "seed {seed}");
            assert!(p(mann_whitney_greater(&new, &old)) > 0.99, "seed {seed}");
        }
    }

    #[test]
    fn too_few_samples_are_inconclusive_with_how_many_more() {
        let (old, new) = (run(1, 10, 1.0), run(2, 10, 2.0));
        assert_eq!(mann_whitney_greater(&old, &new), Test::NeedMore(10));
        assert_eq!(quantile_greater(&old, &new, 0.99), Test::NeedMore(490));
    }

    #[test]
    fn rank_test_handles_ties_and_constant_data() {
        let mut a = Histogram::<u64>::new(3).unwrap();
        let mut b = Histogram::<u64>::new(3).unwrap();
        a.record_n(1000, 50).unwrap();
        b.record_n(1000, 50).unwrap();
        assert_eq!(p(mann_whitney_greater(&a, &b)), 1.0);
        b.record_n(2000, 50).unwrap();
        assert!(p(mann_whitney_greater(&a, &b)) < 1e-6);
        assert!(p(mann_whitney_greater(&b, &a)) > 0.99);
    }

    #[test]
    fn error_rates() {
        assert!(p(proportion_greater(10, 10_000, 60, 10_000)) < 1e-6);
        assert!(p(proportion_greater(50, 10_000, 55, 10_000)) > 0.05);
        assert_eq!(proportion_greater(0, 1000, 0, 1000), Test::P(1.0));
        assert!(matches!(
            proportion_greater(0, 100, 1, 100),
            Test::NeedMore(_)
        ));
    }
}
