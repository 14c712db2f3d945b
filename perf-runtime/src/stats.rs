//! Statistics for comparing runs: is a difference real, or noise?
//!
//! # The regression gate
//!
//! Two runs of unchanged code at different times differ by more than the
//! sampling noise inside either (preemption bursts, CPU frequency steps,
//! a neighbour's load, a cache that was warm once), and neighbouring
//! iterations are alike (a burst slows several at once), so a test that
//! treats every iteration as an independent sample calls that difference
//! significant. The gate therefore tests a change against the spread
//! *between runs*:
//!
//! - A baseline is saved from several independent runs (5 by default,
//!   `runs = N` / `PERF_RUNS`); a comparison may be several runs too. Each
//!   run's value of the metric (mean, p50, p95, p99, any gated percentile)
//!   is taken on the log scale, where a slowdown is a shift and a budget is
//!   a ratio.
//! - The change is the difference of the two sides' mean logs (the ratio of
//!   geometric means), with Student's t: the pooled between-run variance
//!   when both sides have several runs (`k + l − 2` degrees of freedom),
//!   the several-run side's variance when the other is one run (that run
//!   is one more draw of the same noise: `s²(1 + 1/k)`, `k − 1` degrees of
//!   freedom). A run's value already holds its sampling noise and its
//!   iterations' dependence, so nothing inside a run needs to be modelled;
//!   the variance is never taken below the sampling variance of the
//!   histograms (the order-statistic interval of a percentile, the delta
//!   method for the mean), which five close runs can undercut by chance.
//! - **Regressed** means the change exceeds its budget: the one-sided test
//!   of "worse by more than the budget" rejects, i.e. the whole interval
//!   lies beyond the budget, not merely "significantly worse with the
//!   point estimate beyond it". The gated metrics of one test (four for a
//!   bare `regression < "10%"`) are corrected together with Holm's
//!   step-down method ([`holm`]), valid whatever their dependence (the
//!   metrics of one run are strongly dependent), so a test's chance of any
//!   false regression stays at `alpha`. `perf-report compare` then applies
//!   Benjamini–Hochberg ([`benjamini_hochberg`]) across the tests compared.
//! - With **one run on each side** the machine's run-to-run noise is
//!   unknown: a change the sampling noise alone calls beyond the budget is
//!   *inconclusive*, not a regression. A gated metric significantly worse
//!   whose interval reaches past the budget is *inconclusive* too.
//! - **The machine check**: a calibration (a fixed CPU loop and 1 ms
//!   sleeps, taken between the runs) is stored with the baseline and
//!   measured again when comparing; on a machine more than 25% off, a
//!   regression is withheld (*inconclusive*) only when the machine's
//!   slowdown for this test (its CPU-bound share of the CPU loop's ratio,
//!   the rest of the sleep's) could explain the change, named in one line.
//! - Each gated metric's interval is shown at the level Holm's correction
//!   tested it at, and an undecided gated metric follows the test's
//!   `inconclusive` policy.
//! - The error rate: the log of the rate ratio with Katz's interval (half
//!   a failure added to each count), from all runs' counts.
//!
//! Why not benchstat's rank test over per-run values: with 5 baseline runs
//! and one new run, the smallest one-sided p a Mann–Whitney test can give
//! is 1/6, so it can never detect anything; it needs many runs on both
//! sides. A hierarchical bootstrap (resampling runs, then iterations)
//! would work but is slow for million-sample histograms and unreliable
//! with five runs. The t interval on log values is exact for normal
//! run-to-run noise, is robust enough for the symmetric noise seen on real
//! machines (see the gate benchmark in docs/src/verdicts.md), and gives an interval of
//! the change to print.
//!
//! # Runs that stop when they know
//!
//! `repeat = "auto"` looks at a run's thresholds while it goes on and
//! stops it once every one is conclusive. Looking again and again at a
//! 95% interval and stopping at the first that clears the limit makes a
//! wrong verdict far likelier than 5%: with the limit at the true p95 and
//! looks at doubling counts up to 25,600 samples, 25% of seeded runs stop
//! on a wrong pass or fail (`looking_again_and_again_does_not_inflate_wrong_verdicts`).
//! So the looks *spend* the error allowance:
//!
//! - Looks come when the count has doubled since the last one (the first
//!   at 100 iterations; at most twice a second, on what the workers have
//!   flushed, so a run stops within about a second of being conclusive).
//! - Look `k` takes its intervals at the confidence
//!   `1 − (1 − c) / (k (k + 1))` ([`look_confidence`]): 97.5%, 99.17%,
//!   99.58%, … for `c = 0.95`. The shares `1/(k(k+1))` add up to 1 over
//!   any number of looks, so by the union bound the chance that any look's
//!   interval misses the truth, and with it the chance of a wrong verdict
//!   at whichever look stops the run, is at most `1 − c`, whatever the
//!   data make the run do. The final verdicts are judged at the stopping
//!   look's confidence (one more look's when a cap ended the run). A look
//!   widens its intervals by the run's seconds so far, as the final
//!   verdict does (see "Neighbouring iterations" in docs/src/verdicts.md).
//! - Why an alpha-spending schedule over a confidence sequence (such as
//!   the stitched or mixture bounds of Howard et al.): it keeps the exact,
//!   distribution-free order-statistic interval of a percentile and the
//!   Wilson interval of a rate, with only their level changed, instead of
//!   replacing them by a bound for bounded or sub-Gaussian data that
//!   latencies are not. Its price is a wider interval at later looks
//!   (z = 2.64 at the second look, 3.51 at the tenth, against 1.96),
//!   which doubling looks keep small: 17 looks reach ten million
//!   iterations, and a run stops near the sample count it needs instead
//!   of a fixed one chosen for the worst case.
//! - Measured on synthetic log-normal latencies (1,000 seeded runs each,
//!   `auto_runs_stop_right_and_sooner_with_a_larger_margin`): with the
//!   true p95 10% below the limit, 99.8% stop *pass* and 0.2% *fail*,
//!   after 1,880 iterations on average; 5% below, 8,210; 20% below, 446;
//!   40% below, 141.
//!
//! # Tests of two histograms
//!
//! For comparisons of two single measurements (cases of a table test), on
//! every sample of the HDR histograms (3 significant digits):
//!
//! - **a shift of the whole distribution**: the Mann-Whitney U test, with
//!   mid-ranks for ties (equal histogram buckets) and the normal
//!   approximation, so each side needs at least 20 samples.
//! - **percentiles**: under "no change", a fraction `1 − q` of the new run
//!   lies above the old run's `q`-quantile; the observed fraction is
//!   compared with a binomial z-test whose variance counts both runs'
//!   sampling noise, `q(1 − q)(1/n_old + 1/n_new)`. It needs at least 5
//!   expected samples above the quantile on each side.
//! - **error rate**: a two-proportion z-test (pooled), with at least 5
//!   expected errors in all.
//!
//! With too few samples a verdict is *inconclusive*, with how many more
//! iterations would make it conclusive, as benchstat does.

pub use crate::judge::stats::{
    format_delta, format_p, mann_whitney_greater, proportion_greater, quantile_greater,
    significant, Test, DEFAULT_ALPHA, NOISE_THRESHOLD,
};
pub use crate::judge::student::{benjamini_hochberg, holm};
pub use crate::judge::until::look_confidence;
pub use crate::model::baseline::{MetricComparison, Verdict};
pub use crate::output::comparison::{compared_value, delta_with_interval};
