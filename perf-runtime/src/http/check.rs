//! Checks (k6's `check`): named predicates on a response, counted per name
//! as a pass rate. Each evaluation is recorded twice as a count custom
//! metric of 1 (passed) or 0 (failed): under `check:<name>` and under
//! `checks` (all of them), so that a pass rate is that metric's mean,
//! exact, merged across shards like any count, and judged by the
//! `checks > 0.99` and `check "body has id" > 0.999` thresholds.

use std::fmt;
use std::sync::Arc;

use super::Response;
use crate::measure::names::intern;
use crate::measure::notes::{self, Value};

/// The custom metric of every check's evaluations.
pub const ALL_CHECKS: &str = perf_spec::CHECKS_METRIC;

/// A predicate on a response.
pub(crate) type Predicate = Arc<dyn Fn(&Response) -> bool + Send + Sync>;

/// The checks a request runs on its response.
#[derive(Clone, Default)]
pub(crate) struct Checks {
    /// Whether a failed check fails the iteration (`fail_on_check`).
    pub(crate) fail_iteration: bool,
}

impl fmt::Debug for Checks {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Checks")
            .field("fail_iteration", &self.fail_iteration)
            .finish()
    }
}

/// Counts one evaluation of the check `name` in the running iteration and
/// returns `passed`, for checks on anything (a response's JSON already
/// parsed, a DynamoDB item): `check("order has id", order.id.is_some())`.
/// Outside a perf test's iteration it only returns `passed`.
pub fn check(name: &str, passed: bool) -> bool {
    let metric = intern(&perf_spec::check_metric(name));
    let v = Value::Count(u64::from(passed));
    notes::value(metric, v);
    notes::value(ALL_CHECKS, v);
    passed
}

/// Runs `checks` on `response` (or counts them failed without one: the
/// request failed before a response came), returning the names of those
/// that failed.
pub(crate) fn run(
    checks: &[(String, Predicate)],
    response: Option<&Response>,
) -> Vec<&'static str> {
    let mut failed = Vec::new();
    for (name, predicate) in checks {
        let passed = response.is_some_and(|r| predicate(r));
        if !check(name, passed) {
            failed.push(intern(name));
        }
    }
    failed
}
