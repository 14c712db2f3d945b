//! Student's t distribution and multiple-comparison corrections, for the
//! baseline gate's between-run test (see `perf_runtime::stats`).
//!
//! The t distribution's tail is the regularised incomplete beta function
//! `I_x(df/2, 1/2)` with `x = df / (df + t²)`, evaluated by its continued
//! fraction (Lentz's method), with log-gamma from `libm`. Quantiles are
//! found by bisection on the tail (60 halvings: far below any displayed
//! digit). `df = ∞` is the standard normal.

/// The standard normal upper tail, `P(Z > z)`.
pub(crate) fn normal_upper(z: f64) -> f64 {
    0.5 * libm::erfc(z / std::f64::consts::SQRT_2)
}

/// `P(T > t)` for Student's t with `df` degrees of freedom (`f64::INFINITY`
/// for the normal).
pub(crate) fn t_upper(t: f64, df: f64) -> f64 {
    if t.is_nan() {
        return f64::NAN;
    }
    if df.is_infinite() || df > 1e7 {
        return normal_upper(t);
    }
    let x = df / (df + t * t);
    let tail = 0.5 * incomplete_beta(df / 2.0, 0.5, x);
    if t >= 0.0 {
        tail
    } else {
        1.0 - tail
    }
}

/// The `t` with `P(T > t) = p` (`0 < p < 1`).
pub(crate) fn t_quantile_upper(p: f64, df: f64) -> f64 {
    if df.is_infinite() || df > 1e7 {
        return crate::judge::interval::normal_quantile(1.0 - p);
    }
    let (mut lo, mut hi) = (-1e4f64, 1e4f64);
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        if t_upper(mid, df) > p {
            lo = mid;
        } else {
            hi = mid;
        }
        if hi - lo < 1e-12 {
            break;
        }
    }
    0.5 * (lo + hi)
}

/// The regularised incomplete beta function `I_x(a, b)`.
fn incomplete_beta(a: f64, b: f64, x: f64) -> f64 {
    if x <= 0.0 {
        return 0.0;
    }
    if x >= 1.0 {
        return 1.0;
    }
    let ln_front =
        libm::lgamma(a + b) - libm::lgamma(a) - libm::lgamma(b) + a * x.ln() + b * (1.0 - x).ln();
    let front = ln_front.exp();
    // The continued fraction converges fast for x below (a+1)/(a+b+2);
    // above it, use the symmetry I_x(a, b) = 1 − I_{1−x}(b, a).
    if x < (a + 1.0) / (a + b + 2.0) {
        front * continued_fraction(a, b, x) / a
    } else {
        1.0 - front * continued_fraction(b, a, 1.0 - x) / b
    }
}

/// The incomplete beta's continued fraction, by Lentz's method.
fn continued_fraction(a: f64, b: f64, x: f64) -> f64 {
    const TINY: f64 = 1e-300;
    let (qab, qap, qam) = (a + b, a + 1.0, a - 1.0);
    let nonzero = |v: f64| if v.abs() < TINY { TINY } else { v };
    let (mut c, mut d) = (1.0, 1.0 / nonzero(1.0 - qab * x / qap));
    let mut h = d;
    // One of Lentz's updates with the fraction's coefficient `aa`: the
    // factor it multiplies `h` by.
    let mut step = |aa: f64| {
        d = 1.0 / nonzero(1.0 + aa * d);
        c = nonzero(1.0 + aa / c);
        d * c
    };
    for m in 1..300 {
        let m = m as f64;
        let m2 = 2.0 * m;
        h *= step(m * (b - m) * x / ((qam + m2) * (a + m2)));
        let last = step(-(a + m) * (qab + m) * x / ((a + m2) * (qap + m2)));
        h *= last;
        if (last - 1.0).abs() < 1e-15 {
            break;
        }
    }
    h
}

/// Holm's step-down correction: which of the hypotheses with these
/// p-values are rejected with the family-wise error rate kept at `alpha`
/// (the smallest p against `alpha / m`, the next against `alpha / (m − 1)`,
/// …, stopping at the first that is not below its bound). Valid whatever
/// the dependence between the tests, which the metrics of one run have.
pub fn holm(p_values: &[f64], alpha: f64) -> Vec<bool> {
    let m = p_values.len();
    let mut order: Vec<usize> = (0..m).collect();
    order.sort_by(|&i, &j| p_values[i].total_cmp(&p_values[j]));
    let mut rejected = vec![false; m];
    for (rank, &i) in order.iter().enumerate() {
        if p_values[i] < alpha / (m - rank) as f64 {
            rejected[i] = true;
        } else {
            break;
        }
    }
    rejected
}

/// The level each hypothesis is tested at in [`holm`]'s step-down: the
/// smallest p-value's `alpha / m`, the next one's `alpha / (m − 1)`, …
/// (ties keep their order). An interval of a gated metric at its level
/// lies beyond its budget exactly when its test rejects there, so the
/// interval shown is the one the decision used.
pub fn holm_levels(p_values: &[f64], alpha: f64) -> Vec<f64> {
    let m = p_values.len();
    let mut order: Vec<usize> = (0..m).collect();
    order.sort_by(|&i, &j| p_values[i].total_cmp(&p_values[j]));
    let mut levels = vec![alpha; m];
    for (rank, &i) in order.iter().enumerate() {
        levels[i] = alpha / (m - rank) as f64;
    }
    levels
}

/// Benjamini–Hochberg: which hypotheses are rejected with the false
/// discovery rate kept at `q` (the largest rank `k` with
/// `p_(k) ≤ k q / m`, and every smaller p). For many tests at once (every
/// test of a suite in `perf-report compare`), where a family-wise bound
/// would hide every real change.
pub fn benjamini_hochberg(p_values: &[f64], q: f64) -> Vec<bool> {
    let m = p_values.len();
    let mut order: Vec<usize> = (0..m).collect();
    order.sort_by(|&i, &j| p_values[i].total_cmp(&p_values[j]));
    let last = order
        .iter()
        .enumerate()
        .filter(|(rank, &i)| p_values[i] <= (rank + 1) as f64 * q / m as f64)
        .map(|(rank, _)| rank)
        .next_back();
    let mut rejected = vec![false; m];
    if let Some(last) = last {
        for &i in &order[..=last] {
            rejected[i] = true;
        }
    }
    rejected
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn t_tails_match_published_tables() {
        // Critical values from any t table (one-sided 5% and 2.5%).
        for (df, t05, t025) in [
            (1.0, 6.314, 12.706),
            (4.0, 2.132, 2.776),
            (9.0, 1.833, 2.262),
            (30.0, 1.697, 2.042),
        ] {
            assert!((t_upper(t05, df) - 0.05).abs() < 2e-4, "df {df}");
            assert!((t_upper(t025, df) - 0.025).abs() < 2e-4, "df {df}");
            assert!((t_quantile_upper(0.05, df) - t05).abs() < 2e-3, "df {df}");
            assert!((t_upper(-t05, df) - 0.95).abs() < 2e-4);
        }
        assert!((t_upper(0.0, 3.0) - 0.5).abs() < 1e-12);
        assert!((t_quantile_upper(0.025, f64::INFINITY) - 1.95996).abs() < 1e-4);
        // Large df approaches the normal.
        assert!((t_upper(1.96, 1e6) - 0.025).abs() < 1e-4);
    }

    #[test]
    fn holm_steps_down_and_stops_at_the_first_kept() {
        // m = 4: bounds 0.0125, 0.0167, 0.025, 0.05.
        assert_eq!(
            holm(&[0.01, 0.04, 0.015, 0.2], 0.05),
            [true, false, true, false]
        );
        // 0.013 is not below 0.0125: nothing is rejected, however small
        // the others would be against their own bounds.
        assert_eq!(holm(&[0.013, 0.014, 0.02, 0.03], 0.05), [false; 4]);
        assert_eq!(holm(&[0.04], 0.05), [true]);
        assert!(holm(&[], 0.05).is_empty());
    }

    #[test]
    fn holm_levels_are_the_bounds_each_test_met() {
        let p = [0.01, 0.04, 0.015, 0.2];
        let levels = holm_levels(&p, 0.05);
        assert_eq!(levels, [0.0125, 0.025, 0.05 / 3.0, 0.05]);
        // A rejection is a p-value under its level, up to the first kept.
        let under: Vec<bool> = p.iter().zip(&levels).map(|(p, l)| p < l).collect();
        assert_eq!(under, holm(&p, 0.05));
        assert_eq!(holm_levels(&[0.3], 0.05), [0.05]);
    }

    #[test]
    fn benjamini_hochberg_rejects_up_to_the_largest_rank_under_its_line() {
        // m = 5, q = 0.05: lines 0.01, 0.02, 0.03, 0.04, 0.05. p_(3) = 0.029
        // is under its line, so the three smallest are rejected although
        // p_(2) = 0.021 is above its own.
        assert_eq!(
            benjamini_hochberg(&[0.005, 0.021, 0.029, 0.3, 0.9], 0.05),
            [true, true, true, false, false]
        );
        assert_eq!(benjamini_hochberg(&[0.2, 0.3], 0.05), [false, false]);
    }
}
