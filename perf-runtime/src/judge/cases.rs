//! Cases of one parametrised perf test compared with each other (see
//! `perf_runtime::cases`), and the checks of an iteration's output.

use std::fmt::{Debug, Write as _};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

use crate::judge::stats::{self, mann_whitney_greater, quantile_greater, Test};
use crate::model::report::Report;

/// The cases of one function, shared by its case tests.
pub struct CaseGroup {
    function: &'static str,
    declared: &'static [&'static str],
    finished: Mutex<Vec<(String, Report)>>,
}

/// One metric of one case against the reference case.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CaseDelta {
    /// `mean`, `p50`, `p95`, `p99` or `throughput`.
    pub metric: String,
    /// The case's value (nanoseconds, or iterations/s).
    pub value: f64,
    /// Relative to the reference case.
    pub delta: f64,
    /// Two-sided p-value, when a test applies and has enough samples.
    pub p_value: Option<f64>,
    /// `p_value < 0.05`.
    pub significant: bool,
}

/// One case in a comparison.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CaseRow {
    /// The case's name.
    pub case: String,
    /// Iterations measured.
    pub iterations: u64,
    /// Errors (validation failures included).
    pub errors: u64,
    /// Each metric against the reference.
    pub metrics: Vec<CaseDelta>,
}

/// The comparison of a function's cases (`comparison.json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CaseComparison {
    /// The function, `module::fn`.
    pub function: String,
    /// The case the others are compared with.
    pub reference: String,
    /// Every finished case, reference first, in declaration order.
    pub cases: Vec<CaseRow>,
    /// A case ran in a debug build: the table says its figures include
    /// unoptimised code.
    #[serde(default)]
    pub debug_build: bool,
}

fn two_sided(greater: Test, less: Test) -> Option<f64> {
    match (greater, less) {
        (Test::P(a), Test::P(b)) => Some((2.0 * a.min(b)).min(1.0)),
        _ => None,
    }
}

/// Compares `cases` (reference first).
pub fn compare_cases(function: &str, cases: &[(String, Report)]) -> Option<CaseComparison> {
    let (reference_name, reference) = cases.first()?;
    let rows = cases
        .iter()
        .map(|(name, r)| {
            let (a, b) = (&reference.histogram, &r.histogram);
            let mut metrics = Vec::new();
            let rel = |new: f64, old: f64| if old == 0.0 { 0.0 } else { (new - old) / old };
            let mean_p = two_sided(mann_whitney_greater(a, b), mann_whitney_greater(b, a));
            metrics.push(CaseDelta {
                metric: "mean".into(),
                value: b.mean(),
                delta: rel(b.mean(), a.mean()),
                p_value: mean_p,
                significant: stats::significant(mean_p, rel(b.mean(), a.mean())),
            });
            for q in [0.5, 0.95, 0.99] {
                let (new, old) = (b.value_at_quantile(q) as f64, a.value_at_quantile(q) as f64);
                let p = two_sided(quantile_greater(a, b, q), quantile_greater(b, a, q));
                metrics.push(CaseDelta {
                    metric: format!("p{}", q * 100.0),
                    value: new,
                    delta: rel(new, old),
                    p_value: p,
                    significant: stats::significant(p, rel(new, old)),
                });
            }
            metrics.push(CaseDelta {
                metric: "throughput".into(),
                value: r.throughput,
                delta: rel(r.throughput, reference.throughput),
                p_value: None,
                significant: false,
            });
            CaseRow {
                case: name.clone(),
                iterations: r.iterations,
                errors: r.errors,
                metrics,
            }
        })
        .collect();
    Some(CaseComparison {
        function: function.to_owned(),
        reference: reference_name.clone(),
        cases: rows,
        debug_build: cases.iter().any(|(_, r)| r.debug_build),
    })
}

impl CaseComparison {
    /// The table printed after the cases: one row per case, each metric
    /// with its difference from the reference, `*` when significant.
    pub fn table(&self) -> String {
        let mut out = format!(
            "perf cases {} (compared with `{}`; * = significant: p < 0.05 and over 1%)\n",
            self.function, self.reference
        );
        let _ = writeln!(
            out,
            "  {:<14} {:>10}  {:>22} {:>22} {:>22} {:>22} {:>20}",
            "case", "iterations", "mean", "p50", "p95", "p99", "throughput"
        );
        for row in &self.cases {
            let _ = write!(out, "  {:<14} {:>10} ", row.case, row.iterations);
            for m in &row.metrics {
                let value = if m.metric == "throughput" {
                    perf_spec::format_rate(m.value)
                } else {
                    perf_spec::format_duration(std::time::Duration::from_nanos(
                        m.value.round() as u64
                    ))
                };
                let mark = if row.case == self.reference {
                    String::new()
                } else if m.p_value.is_none() && m.metric == "throughput" {
                    // One number per run: no test, so no verdict either.
                    format!(" {}", stats::format_delta(m.delta))
                } else {
                    format!(
                        " {}{}",
                        stats::format_delta(m.delta),
                        if m.significant { "*" } else { " ~" }
                    )
                };
                let width = if m.metric == "throughput" { 20 } else { 22 };
                let _ = write!(out, " {:>width$}", format!("{value}{mark}"));
            }
            out.push('\n');
        }
        if self.debug_build {
            out.push_str(crate::model::report::DEBUG_BUILD_NOTE);
        }
        out.truncate(out.trim_end().len());
        out
    }
}

impl CaseGroup {
    /// The cases of `function`, in declaration order.
    pub const fn new(function: &'static str, declared: &'static [&'static str]) -> Self {
        CaseGroup {
            function,
            declared,
            finished: Mutex::new(Vec::new()),
        }
    }

    /// Records a finished case; returns the comparison of the cases
    /// finished so far, and whether every declared case has finished.
    pub(crate) fn record(&self, case: &str, report: &Report) -> Option<(CaseComparison, bool)> {
        let mut finished = self
            .finished
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        finished.retain(|(name, _)| name != case);
        finished.push((case.to_owned(), report.clone()));
        let order = |name: &str| {
            self.declared
                .iter()
                .position(|d| *d == name)
                .unwrap_or(usize::MAX)
        };
        finished.sort_by_key(|(name, _)| order(name));
        let comparison = compare_cases(self.function, &finished)?;
        let complete = finished.len() == self.declared.len() && finished.len() > 1;
        Some((comparison, complete))
    }
}

/// A failed output check, shown as its message (not `Debug`-quoted).
pub struct CheckFailed(pub String);

impl Debug for CheckFailed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Checks a case's output against its expected value: a mismatch is an
/// error naming the case, with both values (shortened).
pub fn check_expected<O: PartialEq + Debug>(
    case: &str,
    output: O,
    expected: &O,
) -> Result<(), String> {
    if output == *expected {
        return Ok(());
    }
    let short = |v: &O| {
        let s = format!("{v:?}");
        if s.chars().count() > 120 {
            format!("{}…", s.chars().take(119).collect::<String>())
        } else {
            s
        }
    };
    Err(format!(
        "case `{case}`: expected {}, got {}",
        short(expected),
        short(&output)
    ))
}

/// What a `validate = path` function may return: `bool` (true = valid) or
/// `Result<(), E: Debug>`.
pub trait Validation {
    /// `Err(message)` if invalid.
    fn into_validation(self) -> Result<(), String>;
}

impl Validation for bool {
    fn into_validation(self) -> Result<(), String> {
        if self {
            Ok(())
        } else {
            Err("validation failed".into())
        }
    }
}

impl<E: Debug> Validation for Result<(), E> {
    fn into_validation(self) -> Result<(), String> {
        self.map_err(|e| format!("{e:?}"))
    }
}
