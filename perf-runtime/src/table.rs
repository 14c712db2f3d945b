//! Table tests built at run time: named cases of an input and an expected
//! output, each measured and validated:
//!
//! ```no_run
//! # async fn demo() {
//! use perf_runtime::TableTest;
//! use std::time::Duration;
//!
//! async fn put(size: usize) -> usize { size }
//!
//! let table = TableTest::<usize, usize>::new("load_test")
//!     .case("small", 100, 100)
//!     .case("large", 10_000, 10_000)
//!     .parallel()
//!     .max_workers(100)
//!     .repeat(1000)
//!     .timeout(Duration::from_secs(300))
//!     .run(put, |output, expected| output == expected)
//!     .await;
//! table.assert_passed();
//!
//! let bench = TableTest::<usize, usize>::new("benchmark")
//!     .case("baseline", 100, 100)
//!     .benchmark(put, 10_000)
//!     .await;
//! assert!(bench[0].p95 < Duration::from_millis(200));
//! # }
//! ```
//!
//! Each case runs as a [`PerfTest`] (the same scheduler and report as the
//! attribute), one case after another on the caller's runtime; the cases
//! are then compared with the first one (see [`crate::cases`]).

use std::fmt::Debug;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use crate::judge::cases::{check_expected, compare_cases, CaseComparison};
use crate::{PerfTest, PerformanceSLA, Report, Threshold};

/// Workers used by [`TableTest::parallel`] when no
/// [`max_workers`](TableTest::max_workers) is given.
pub const DEFAULT_PARALLEL_WORKERS: usize = 10;

/// A table of cases measured with one function.
#[must_use = "a TableTest does nothing until `run` or `benchmark` is awaited"]
pub struct TableTest<I, O> {
    name: String,
    cases: Vec<(String, I, O)>,
    parallel: bool,
    max_workers: Option<usize>,
    repeat: u64,
    timeout: Option<Duration>,
    thresholds: Vec<Threshold>,
    quiet: bool,
}

/// The outcome of [`TableTest::run`].
#[derive(Debug)]
pub struct TableReport {
    /// Each case's report, in order.
    pub cases: Vec<(String, Report)>,
    /// The cases compared with the first one.
    pub comparison: Option<CaseComparison>,
}

impl TableReport {
    /// The report of one case.
    pub fn case(&self, name: &str) -> Option<&Report> {
        self.cases.iter().find(|(n, _)| n == name).map(|(_, r)| r)
    }

    /// Panics with every failing case's summary if any case failed.
    #[track_caller]
    pub fn assert_passed(&self) {
        let failed: Vec<String> = self
            .cases
            .iter()
            .filter(|(_, r)| !r.passed)
            .map(|(_, r)| crate::output::summary::failure(r))
            .collect();
        if !failed.is_empty() {
            panic!(
                "{} of {} cases failed:\n\n{}",
                failed.len(),
                self.cases.len(),
                failed.join("\n\n")
            );
        }
    }
}

/// Tukey's outlier counts (criterion's classification): beyond 1.5 × IQR
/// from the quartiles is mild, beyond 3 × IQR severe.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Outliers {
    /// Below Q1 − 3·IQR.
    pub low_severe: u64,
    /// Between Q1 − 3·IQR and Q1 − 1.5·IQR.
    pub low_mild: u64,
    /// Between Q3 + 1.5·IQR and Q3 + 3·IQR.
    pub high_mild: u64,
    /// Above Q3 + 3·IQR.
    pub high_severe: u64,
}

/// Statistics of one benchmarked case.
#[derive(Debug, Clone)]
pub struct Benchmark {
    /// The case's name.
    pub case: String,
    /// Iterations measured.
    pub iterations: u64,
    /// Mean latency.
    pub mean: Duration,
    /// Mean latency (the same as `mean`, under the name Go users know).
    pub average: Duration,
    /// Median.
    pub p50: Duration,
    /// 95th percentile.
    pub p95: Duration,
    /// 99th percentile.
    pub p99: Duration,
    /// Standard deviation.
    pub stddev: Duration,
    /// 95% confidence interval of the mean (normal approximation,
    /// `mean ± 1.96 · stddev / √n`; meaningful from ~30 iterations).
    pub mean_ci95: (Duration, Duration),
    /// Tukey outliers.
    pub outliers: Outliers,
    /// The full report.
    pub report: Report,
}

impl Benchmark {
    fn of(case: String, report: Report) -> Benchmark {
        let h = &report.histogram;
        let d = |ns: f64| Duration::from_nanos(ns.max(0.0).round() as u64);
        let (mean, sd, n) = (h.mean(), h.stdev(), h.len().max(1) as f64);
        let half = 1.96 * sd / n.sqrt();
        let (q1, q3) = (
            h.value_at_quantile(0.25) as f64,
            h.value_at_quantile(0.75) as f64,
        );
        let iqr = q3 - q1;
        // Histogram buckets are counted whole: "beyond a fence" means in a
        // bucket entirely beyond the fence's own bucket (with IQR 0 the
        // fence shares the quartile's bucket, which is no outlier).
        let above = |fence: f64| {
            let from = h.next_non_equivalent(fence.max(0.0) as u64);
            if from > h.max() {
                0
            } else {
                h.count_between(from, h.max())
            }
        };
        let below = |fence: f64| {
            if fence <= 0.0 {
                return 0;
            }
            match h.lowest_equivalent(fence as u64).checked_sub(1) {
                Some(to) => h.count_between(0, to),
                None => 0,
            }
        };
        let outliers = Outliers {
            low_severe: below(q1 - 3.0 * iqr),
            low_mild: below(q1 - 1.5 * iqr) - below(q1 - 3.0 * iqr),
            high_mild: above(q3 + 1.5 * iqr) - above(q3 + 3.0 * iqr),
            high_severe: above(q3 + 3.0 * iqr),
        };
        Benchmark {
            case,
            iterations: report.iterations,
            mean: d(mean),
            average: d(mean),
            p50: d(h.value_at_quantile(0.5) as f64),
            p95: d(h.value_at_quantile(0.95) as f64),
            p99: d(h.value_at_quantile(0.99) as f64),
            stddev: d(sd),
            mean_ci95: (d(mean - half), d(mean + half)),
            outliers,
            report,
        }
    }
}

impl<I, O> TableTest<I, O>
where
    I: Clone + Send + Sync + 'static,
    O: PartialEq + Debug + Send + Sync + 'static,
{
    /// A table named `name` (the cases' reports are `name::case`).
    pub fn new(name: impl Into<String>) -> Self {
        TableTest {
            name: name.into(),
            cases: Vec::new(),
            parallel: false,
            max_workers: None,
            repeat: crate::DEFAULT_REPEAT,
            timeout: None,
            thresholds: Vec::new(),
            quiet: false,
        }
    }

    /// Adds a case: its name, its input and the output expected from it.
    pub fn case(mut self, name: impl Into<String>, input: I, expected: O) -> Self {
        self.cases.push((name.into(), input, expected));
        self
    }

    /// Run each case's iterations on several workers at once
    /// ([`max_workers`](Self::max_workers), default
    /// [`DEFAULT_PARALLEL_WORKERS`]); without it, one worker.
    pub fn parallel(mut self) -> Self {
        self.parallel = true;
        self
    }

    /// Workers per case when [`parallel`](Self::parallel).
    pub fn max_workers(mut self, n: usize) -> Self {
        self.max_workers = Some(n);
        self
    }

    /// Iterations per case.
    pub fn repeat(mut self, n: u64) -> Self {
        self.repeat = n;
        self
    }

    /// Time limit per case.
    pub fn timeout(mut self, d: Duration) -> Self {
        self.timeout = Some(d);
        self
    }

    /// A threshold every case must meet.
    pub fn threshold(mut self, t: Threshold) -> Self {
        self.thresholds.push(t);
        self
    }

    /// Every limit of `sla`, for every case.
    pub fn sla(mut self, sla: &PerformanceSLA) -> Self {
        self.thresholds.extend(sla.thresholds());
        self
    }

    /// Prints no summaries.
    pub fn quiet(mut self) -> Self {
        self.quiet = true;
        self
    }

    fn perf_test(&self, case: &str, workers: usize, repeat: u64) -> PerfTest {
        let mut test = PerfTest::new(format!("{}::{case}", self.name))
            .workers(workers)
            .repeat(repeat);
        if let Some(t) = self.timeout {
            test = test.timeout(t);
        }
        for t in &self.thresholds {
            test = test.threshold(*t);
        }
        if self.quiet {
            test = test.quiet();
        }
        test
    }

    /// Panics when two cases share a name: each case's report is
    /// `table::case`, so the second would overwrite the first's and the
    /// comparison could not tell them apart.
    fn check_names(&self) {
        for (i, (name, _, _)) in self.cases.iter().enumerate() {
            if let Some(j) = self.cases[..i].iter().position(|(n, _, _)| n == name) {
                panic!(
                    "table test `{}`: cases {} and {} are both named `{name}`; each case writes its own report `{}::{name}`, so give them different names",
                    self.name,
                    j + 1,
                    i + 1,
                    self.name
                );
            }
        }
    }

    fn finish(&self, reports: &[(String, Report)]) -> Option<CaseComparison> {
        let comparison = compare_cases(&self.name, reports);
        if let (Some(c), false) = (&comparison, self.quiet) {
            if reports.len() > 1 {
                crate::io::config::print_summary(&c.table());
            }
        }
        comparison
    }

    /// Runs every case: `f(input)` per iteration, `validate(&output,
    /// &expected)` on each output (a `false` is an error naming the case,
    /// with both values).
    ///
    /// # Panics
    /// On a configuration error (zero workers, a malformed `PERF_*`
    /// variable), naming the table and the case; before running anything
    /// when two cases share a name, naming both.
    pub async fn run<F, Fut, V>(mut self, f: F, validate: V) -> TableReport
    where
        F: Fn(I) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = O> + Send + 'static,
        V: Fn(&O, &O) -> bool + Send + Sync + 'static,
    {
        self.check_names();
        let (f, validate) = (Arc::new(f), Arc::new(validate));
        let workers = if self.parallel {
            self.max_workers.unwrap_or(DEFAULT_PARALLEL_WORKERS)
        } else {
            1
        };
        let mut reports = Vec::new();
        for (case, input, expected) in std::mem::take(&mut self.cases) {
            let (f, validate) = (f.clone(), validate.clone());
            let expected = Arc::new(expected);
            let name: Arc<str> = Arc::from(case.as_str());
            let test = self.perf_test(&case, workers, self.repeat);
            let report = test
                .run_async(move |_| {
                    let (f, validate, input, expected, name) = (
                        f.clone(),
                        validate.clone(),
                        input.clone(),
                        expected.clone(),
                        name.clone(),
                    );
                    async move {
                        let output = f(input).await;
                        if validate(&output, &expected) {
                            Ok(())
                        } else {
                            check_expected(&name, output, &*expected)
                                .map_err(|m| format!("validation failed: {m}"))
                        }
                    }
                })
                .await;
            let report = report_or_failure(&self.name, &case, report);
            reports.push((case, report));
        }
        let comparison = self.finish(&reports);
        TableReport {
            cases: reports,
            comparison,
        }
    }

    /// Benchmarks every case: `iterations` sequential calls of `f(input)`
    /// on one worker, no validation, and returns their statistics in case
    /// order.
    ///
    /// # Panics
    /// On a configuration error, naming the table and the case, or two
    /// cases of one name, naming both.
    pub async fn benchmark<F, Fut>(self, f: F, iterations: u64) -> Vec<Benchmark>
    where
        F: Fn(I) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = O> + Send + 'static,
    {
        self.check_names();
        let f = Arc::new(f);
        let mut reports = Vec::new();
        for (case, input, _) in &self.cases {
            let (f, input) = (f.clone(), input.clone());
            let report = self
                .perf_test(case, 1, iterations)
                .run_async(move |_| {
                    let (f, input) = (f.clone(), input.clone());
                    async move {
                        f(input).await;
                    }
                })
                .await;
            reports.push((case.clone(), report_or_failure(&self.name, case, report)));
        }
        self.finish(&reports);
        reports
            .into_iter()
            .map(|(case, report)| Benchmark::of(case, report))
            .collect()
    }
}

fn report_or_failure(table: &str, case: &str, report: Result<Report, crate::Error>) -> Report {
    report.unwrap_or_else(|e| panic!("table test `{table}`, case `{case}`: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bench(values: &[(u64, u64)]) -> Benchmark {
        let mut h = crate::model::measured::new_histogram();
        for &(v, n) in values {
            h.record_n(v, n).unwrap();
        }
        Benchmark::of(
            "case".into(),
            Report::from_parts("t", h, 0, Duration::from_secs(1)),
        )
    }

    #[test]
    fn tukey_outliers() {
        // Quartiles 1,000 and 1,200 ns (IQR 200): mild beyond 700 / 1,500,
        // severe beyond 400 / 1,800.
        let b = bench(&[
            (300, 1),
            (600, 3),
            (1_000, 30),
            (1_100, 20),
            (1_200, 30),
            (1_600, 2),
            (5_000, 1),
        ]);
        assert_eq!(
            b.outliers,
            Outliers {
                low_severe: 1,
                low_mild: 3,
                high_mild: 2,
                high_severe: 1
            }
        );
        // All equal: IQR 0, nothing is an outlier.
        assert_eq!(bench(&[(1_000_000, 300)]).outliers, Outliers::default());
    }

    #[test]
    fn mean_confidence_interval_brackets_the_mean() {
        let b = bench(&[(500, 50), (1_500, 50)]);
        assert_eq!(b.mean, Duration::from_nanos(1_000));
        // sd 500, n 100: ± 98 ns.
        assert_eq!(
            b.mean_ci95,
            (Duration::from_nanos(902), Duration::from_nanos(1_098))
        );
    }

    #[test]
    fn debug_is_a_few_lines_not_the_histogram() {
        // 10,000 distinct values: the histogram's own Debug is tens of KB.
        let values: Vec<(u64, u64)> = (1..=10_000).map(|v| (v * 1_000, 1)).collect();
        let b = bench(&values);
        let text = format!("{b:?}");
        assert!(text.len() < 1_500, "{} bytes: {text}", text.len());
        assert!(text.contains("case: \"case\"") && text.contains("iterations: 10000"));
    }

    #[test]
    fn two_cases_of_one_name_are_refused_naming_both() {
        let table = TableTest::<u8, u8>::new("t")
            .case("small", 1, 1)
            .case("large", 2, 2)
            .case("small", 3, 3);
        let err = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| table.check_names()))
            .unwrap_err();
        let text = err.downcast_ref::<String>().unwrap();
        assert_eq!(
            text,
            "table test `t`: cases 1 and 3 are both named `small`; each case writes its own report `t::small`, so give them different names"
        );
        TableTest::<u8, u8>::new("t")
            .case("a", 1, 1)
            .case("b", 2, 2)
            .check_names();
    }

    #[test]
    fn a_case_table_of_a_debug_build_says_so() {
        let mut reports: Vec<(String, Report)> = ["a", "b"]
            .iter()
            .map(|c| (c.to_string(), bench(&[(1_000, 50)]).report))
            .collect();
        let release = compare_cases("t", &reports).unwrap().table();
        assert!(!release.contains("debug build"), "{release}");
        reports[1].1.debug_build = true;
        let debug = compare_cases("t", &reports).unwrap().table();
        assert!(debug.ends_with("gives figures to trust"), "{debug}");
    }
}
