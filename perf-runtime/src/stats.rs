//! Statistics for comparing two runs: is a difference real, or noise?
//!
//! A change counts as a regression only if it is larger than its budget
//! *and* statistically significant (one-sided, `p < alpha`, 0.05 by
//! default). The tests work on the HDR histograms the runs recorded (3
//! significant digits), so they use every sample, not a summary:
//!
//! - **mean** (and any shift of the whole distribution): the Mann-Whitney U
//!   test. Latencies are skewed and have outliers; a rank test assumes no
//!   distribution, is not dragged by a few huge values, and its ties (equal
//!   histogram buckets) are handled with mid-ranks and the usual variance
//!   correction. The normal approximation is used, so each side needs at
//!   least 20 samples.
//! - **percentiles** (`p50`, `p95`, `p99`, …): a quantile test. Under "no
//!   change", a fraction `1 − q` of the new run lies above the old run's
//!   `q`-quantile; the observed fraction is compared with a binomial
//!   z-test whose variance counts the sampling noise of both runs,
//!   `q(1 − q)(1/n_old + 1/n_new)`. Mann-Whitney would miss a tail that
//!   moved while the median did not, and a bootstrap would need thousands
//!   of resamples of up to millions of values; this test is exact enough,
//!   distribution-free, and O(histogram buckets). It needs at least 5
//!   expected samples above the quantile on each side (`n(1 − q) ≥ 5`:
//!   1,000 iterations for p99.5, 500 for p99).
//! - **error rate**: a two-proportion z-test (pooled), with at least 5
//!   expected errors in all.
//!
//! With too few samples the verdict is *inconclusive*, with how many more
//! iterations would make it conclusive, as benchstat does.

pub use crate::judge::stats::{
    format_delta, format_p, mann_whitney_greater, proportion_greater, quantile_greater,
    significant, Test, DEFAULT_ALPHA, NOISE_THRESHOLD,
};
pub use crate::judge::student::{benjamini_hochberg, holm};
pub use crate::model::baseline::{MetricComparison, Verdict};
