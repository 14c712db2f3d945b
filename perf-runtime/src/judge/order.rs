//! Distribution-free intervals of percentiles from order statistics (see
//! [`crate::judge::interval`]): the ranks whose samples bracket a
//! quantile at a confidence, exactly from the binomial distribution.

use hdrhistogram::Histogram;

/// The value of 1-based rank `rank` among the histogram's samples.
fn at_rank(h: &Histogram<u64>, rank: u64) -> u64 {
    let mut seen = 0;
    for v in h.iter_recorded() {
        seen += v.count_at_value();
        if seen >= rank {
            return v.value_iterated_to();
        }
    }
    h.max()
}

/// The ranks `(l, u)` (1-based; `0` and `n + 1` mean unbounded) whose
/// order statistics bracket the `q` quantile of `n` samples with the
/// coverage closest to `1 − alpha`. `B`, the samples at or below the true
/// quantile, is binomial(n, q); the bracket misses below when `B < l` and
/// above when `B ≥ u`. Each tail is aimed at `alpha / 2`, to the nearest
/// attainable probability (aiming at "at most" over-covers: 98.6% for p99
/// of 200 samples); a tail that no rank can bound (p99 of 200 samples has
/// no upper bound) gives its share to the other.
fn ranks(n: u64, q: f64, alpha: f64) -> (u64, u64) {
    let nf = n as f64;
    let sd = (nf * q * (1.0 - q)).sqrt();
    let from = (nf * q - 12.0 * sd - 12.0).floor().max(0.0) as u64;
    let to = ((nf * q + 12.0 * sd + 12.0).ceil() as u64).min(n);
    // cdf[k - from] = P(B ≤ k), by the log-gamma form of the pmf.
    let ln_choose = |k: u64| {
        libm::lgamma(nf + 1.0) - libm::lgamma(k as f64 + 1.0) - libm::lgamma((n - k) as f64 + 1.0)
    };
    let mut below = 0.0;
    let cdf: Vec<f64> = (from..=to)
        .map(|k| {
            let ln_p = ln_choose(k) + k as f64 * q.ln() + (n - k) as f64 * (1.0 - q).ln();
            below += ln_p.exp();
            below.min(1.0)
        })
        .collect();
    // P(B ≤ k), exact enough outside the window (below ~1e-30 or ~1).
    let at = |k: i64| -> f64 {
        if k < from as i64 {
            0.0
        } else if k > to as i64 {
            1.0
        } else {
            cdf[(k as u64 - from) as usize]
        }
    };
    // Upper tail: u in from..=n+1, miss P(B ≥ u) = 1 − P(B ≤ u − 1).
    let upper = (from.max(1)..=n + 1)
        .take_while(|&u| u <= to + 2 || u == n + 1)
        .chain(std::iter::once(n + 1))
        .min_by(|&a, &b| {
            let miss = |u: u64| if u > n { 0.0 } else { 1.0 - at(u as i64 - 1) };
            (miss(a) - alpha / 2.0)
                .abs()
                .total_cmp(&(miss(b) - alpha / 2.0).abs())
        })
        .unwrap_or(n + 1);
    let upper_miss = if upper > n {
        0.0
    } else {
        1.0 - at(upper as i64 - 1)
    };
    let aim = (alpha - upper_miss).max(0.0);
    // Lower tail: l in 0..=to+1, miss P(B < l) = P(B ≤ l − 1) (0 for l = 0).
    let lower = std::iter::once(0)
        .chain(from.max(1)..=(to + 1).min(n))
        .min_by(|&a, &b| {
            let miss = |l: u64| if l == 0 { 0.0 } else { at(l as i64 - 1) };
            (miss(a) - aim).abs().total_cmp(&(miss(b) - aim).abs())
        })
        .unwrap_or(0);
    (lower, upper.max(lower + 1))
}

/// The interval of percentile `p` (0–100) of the samples in `h`, at the
/// confidence `1 − alpha`.
pub(crate) fn percentile(h: &Histogram<u64>, p: f64, alpha: f64) -> Option<(f64, f64)> {
    let n = h.len();
    if n == 0 {
        return None;
    }
    let q = (p / 100.0).clamp(1e-9, 1.0 - 1e-9);
    let (low_rank, high_rank) = ranks(n, q, alpha);
    let low = if low_rank == 0 {
        0.0
    } else {
        h.lowest_equivalent(at_rank(h, low_rank)) as f64
    };
    let high = if high_rank > n {
        f64::INFINITY
    } else {
        h.highest_equivalent(at_rank(h, high_rank)) as f64
    };
    Some((low, high))
}

/// [`percentile`] of samples that count as `n / d` independent ones: the
/// ranks are those of `n / d` samples, scaled back to the `n` there are.
pub(crate) fn percentile_thinned(
    h: &Histogram<u64>,
    p: f64,
    alpha: f64,
    d: f64,
) -> Option<(f64, f64)> {
    let n = h.len();
    let n_eff = ((n as f64 / d).floor() as u64).clamp(1, n.max(1));
    if d <= 1.0 || n_eff == n || n == 0 {
        return percentile(h, p, alpha);
    }
    let q = (p / 100.0).clamp(1e-9, 1.0 - 1e-9);
    let (low_rank, high_rank) = ranks(n_eff, q, alpha);
    let scale = n as f64 / n_eff as f64;
    let low = if low_rank == 0 {
        0.0
    } else {
        let rank = ((low_rank as f64 * scale).floor() as u64).clamp(1, n);
        h.lowest_equivalent(at_rank(h, rank)) as f64
    };
    let high = if high_rank > n_eff {
        f64::INFINITY
    } else {
        let rank = ((high_rank as f64 * scale).ceil() as u64).clamp(1, n);
        h.highest_equivalent(at_rank(h, rank)) as f64
    };
    Some((low, high))
}

/// The fewest samples with which percentile `p`'s interval is bounded on
/// both sides at the confidence `1 − alpha`: the chance that every sample
/// falls on one side of the quantile must be below `alpha / 2`.
pub(crate) fn samples_to_bound(p: f64, alpha: f64) -> u64 {
    let q = (p / 100.0).clamp(1e-9, 1.0 - 1e-9);
    let side = q.max(1.0 - q);
    ((alpha / 2.0).ln() / side.ln()).ceil() as u64
}
