//! The report of several scenarios run at the same time (k6's
//! scenarios, Gatling's populations): each scenario's own report, judged
//! on its own thresholds, and the group's verdict.

use std::time::Duration;

use crate::model::report::Report;

/// What a [`Scenarios`](crate::Scenarios) run measured: one [`Report`]
/// per scenario (named `<group>::<scenario>`, with its own figures,
/// thresholds and report file), in the order they were declared.
#[derive(Debug, Clone)]
pub struct ScenariosReport {
    /// The group's name.
    pub name: String,
    /// Each scenario's report.
    pub scenarios: Vec<Report>,
    /// From the common start to the end of the last scenario.
    pub elapsed: Duration,
}

impl ScenariosReport {
    /// The report of the scenario called `name` (as given to
    /// [`PerfTest::new`](crate::PerfTest::new), without the group's name).
    pub fn scenario(&self, name: &str) -> Option<&Report> {
        self.scenarios
            .iter()
            .find(|r| self.scenario_name(r) == name)
    }

    /// The scenario's own name: its report's name without the group's.
    pub fn scenario_name<'r>(&self, report: &'r Report) -> &'r str {
        report
            .name
            .strip_prefix(&self.name)
            .and_then(|rest| rest.strip_prefix("::"))
            .unwrap_or(&report.name)
    }

    /// Whether every scenario passed its thresholds.
    pub fn passed(&self) -> bool {
        self.scenarios.iter().all(|r| r.passed)
    }

    /// The scenarios that did not pass.
    pub fn failed(&self) -> impl Iterator<Item = &Report> {
        self.scenarios.iter().filter(|r| !r.passed)
    }
}
