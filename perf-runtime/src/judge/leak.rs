//! Leak detection, and the memory figures of a measured phase.
//!
//! While a test runs, the retained bytes of its scope are sampled against
//! the number of finished iterations (at every flush of the recorder,
//! thinned to at most 1,024 checkpoints spread over the run). A leak is a
//! steady growth of retained bytes per iteration after warm-up: a
//! least-squares line is fitted to the checkpoints after the first 20% of
//! the run's iterations (caches and pools fill early), and a leak is
//! declared when
//! - the slope is at least 1 byte per iteration,
//! - the fitted growth over that span is at least 16 KiB (well above the
//!   bytes held by iterations in flight at a checkpoint),
//! - the line explains the data (R² ≥ 0.5), and
//! - growth continues to the end: the slope over the last half of the span
//!   is at least half the overall slope (a cache that stopped filling is
//!   not a leak).
//!
//! With fewer than [`MIN_LEAK_CHECKPOINTS`] checkpoints in that span (a
//! run of a few iterations), the verdict is *inconclusive*: it says
//! neither "leak" nor "no leak", and a leak threshold is judged by the
//! test's `inconclusive` policy.
//!
//! The leak's size is the slope, in bytes per iteration. A cache that is
//! still filling after 20% of the run looks like a leak: give it a warm-up
//! or a longer run.

use crate::measure::scope::{Scope, Totals};
use crate::model::memory::{LeakVerdict, MemoryStats, MIN_LEAK_CHECKPOINTS};

/// Least-squares slope, intercept and R² of `points`.
fn fit(points: &[(f64, f64)]) -> Option<(f64, f64)> {
    let n = points.len() as f64;
    if points.len() < 3 {
        return None;
    }
    let (mx, my) = points
        .iter()
        .fold((0.0, 0.0), |(a, b), (x, y)| (a + x / n, b + y / n));
    let (mut sxx, mut sxy, mut syy) = (0.0, 0.0, 0.0);
    for (x, y) in points {
        sxx += (x - mx) * (x - mx);
        sxy += (x - mx) * (y - my);
        syy += (y - my) * (y - my);
    }
    if sxx == 0.0 {
        return None;
    }
    let slope = sxy / sxx;
    let r2 = if syy == 0.0 {
        0.0
    } else {
        (sxy * sxy) / (sxx * syy)
    };
    Some((slope, r2))
}

/// Applies the leak rule of the module docs to `(iterations, live bytes)`.
pub(crate) fn detect_leak(checkpoints: &[(u64, i64)]) -> LeakVerdict {
    let unknown = |n| LeakVerdict {
        detected: false,
        bytes_per_iter: 0.0,
        r_squared: 0.0,
        checkpoints: n,
        inconclusive: true,
    };
    let Some(&(last, _)) = checkpoints.last() else {
        return unknown(0);
    };
    let from = last / 5;
    let span: Vec<(f64, f64)> = checkpoints
        .iter()
        .filter(|(x, _)| *x >= from)
        .map(|&(x, y)| (x as f64, y as f64))
        .collect();
    if span.len() < MIN_LEAK_CHECKPOINTS {
        return unknown(span.len());
    }
    let Some((slope, r2)) = fit(&span) else {
        // Every checkpoint at one iteration count: nothing to fit.
        return unknown(span.len());
    };
    let width = span.last().map_or(0.0, |p| p.0) - span.first().map_or(0.0, |p| p.0);
    let mid = span.first().map_or(0.0, |p| p.0) + width / 2.0;
    let tail: Vec<(f64, f64)> = span.iter().copied().filter(|(x, _)| *x >= mid).collect();
    let still_growing = fit(&tail).is_some_and(|(s, _)| s >= slope / 2.0);
    let detected = slope >= 1.0 && slope * width >= 16.0 * 1024.0 && r2 >= 0.5 && still_growing;
    LeakVerdict {
        detected,
        bytes_per_iter: slope.max(0.0),
        r_squared: r2,
        checkpoints: span.len(),
        inconclusive: false,
    }
}

impl MemoryStats {
    /// The figures of a measured phase: counters before and after it, the
    /// scope's peak, and the leak checkpoints.
    pub(crate) fn of(
        scope: &Scope,
        before: Totals,
        after: Totals,
        iterations: u64,
        checkpoints: &[(u64, i64)],
    ) -> Self {
        let per_iter = |n: u64| {
            if iterations == 0 {
                0.0
            } else {
                n as f64 / iterations as f64
            }
        };
        let allocations = after.allocations - before.allocations;
        let bytes_allocated = after.bytes_allocated - before.bytes_allocated;
        MemoryStats {
            allocations,
            deallocations: after.deallocations - before.deallocations,
            bytes_allocated,
            allocs_per_iter: per_iter(allocations),
            bytes_per_iter: per_iter(bytes_allocated),
            peak_live_bytes: scope.peak(after.live()).max(0) as u64,
            live_bytes_at_end: after.live(),
            leak: detect_leak(checkpoints),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leak_rule() {
        // 48 bytes kept per iteration over 10,000 iterations, with noise.
        let leaking: Vec<(u64, i64)> = (0..200)
            .map(|i| {
                (
                    i * 50,
                    (i * 50 * 48) as i64 + if i % 2 == 0 { 3000 } else { -3000 },
                )
            })
            .collect();
        let v = detect_leak(&leaking);
        assert!(v.detected, "{v:?}");
        assert!((v.bytes_per_iter - 48.0).abs() < 2.0, "{v:?}");
        // A cache that fills in the first 10% and then stays put.
        let cache: Vec<(u64, i64)> = (0..200)
            .map(|i| (i * 50, (i.min(20) * 50 * 48) as i64))
            .collect();
        assert!(!detect_leak(&cache).detected);
        // Flat with noise.
        let flat: Vec<(u64, i64)> = (0..200)
            .map(|i| (i * 50, 1_000_000 + (i % 7) as i64 * 900))
            .collect();
        assert!(!detect_leak(&flat).detected);
        // A cache still filling in the first half, flat in the second.
        let late_cache: Vec<(u64, i64)> = (0..200)
            .map(|i| (i * 50, (i.min(100) * 4000) as i64))
            .collect();
        assert!(
            !detect_leak(&late_cache).detected,
            "{:?}",
            detect_leak(&late_cache)
        );
        for v in [&detect_leak(&leaking), &detect_leak(&flat)] {
            assert!(!v.inconclusive, "{v:?}");
        }
    }

    #[test]
    fn too_few_checkpoints_say_neither_leak_nor_no_leak() {
        // 35 MiB kept per iteration, seen at too few checkpoints.
        let per = 35i64 << 20;
        for n in [0u64, 1, 2, MIN_LEAK_CHECKPOINTS as u64 - 1] {
            let points: Vec<(u64, i64)> = (1..=n).map(|i| (i, i as i64 * per)).collect();
            let v = detect_leak(&points);
            assert!(v.inconclusive && !v.detected, "{n} checkpoints: {v:?}");
        }
        // The same leak over enough checkpoints after the first 20%.
        let points: Vec<(u64, i64)> = (1..=12u64).map(|i| (i, i as i64 * per)).collect();
        let v = detect_leak(&points);
        assert!(v.detected && !v.inconclusive, "{v:?}");
        assert!((v.bytes_per_iter - per as f64).abs() < 1.0, "{v:?}");
    }
}
