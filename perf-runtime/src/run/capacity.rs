//! The capacity search's course: which rate to hold next, given how the
//! steps so far ended, and the answer once it stops. No clock and no load
//! here: the orchestrator ([`crate::capacity`]) runs each step and tells
//! the search how it ended.

use crate::model::capacity::{Capacity, CapacityAxis, CapacityResult, CapacityStep, StepOutcome};

/// Why the search stopped.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Stopped {
    /// The rate that held and the one that broke are within the precision.
    Bracketed,
    /// The top of the range held.
    Top,
    /// The lowest rate broke.
    Bottom,
    /// The generator could not produce a step's rate.
    Generator(String),
    /// The test's timeout came first.
    Timeout,
}

/// The search's state.
#[derive(Debug)]
pub(crate) struct Search {
    spec: Capacity,
    held: Option<f64>,
    broke: Option<(f64, String, String)>,
    stopped: Option<Stopped>,
    steps: Vec<CapacityStep>,
}

impl Search {
    pub(crate) fn new(spec: Capacity) -> Search {
        Search {
            spec,
            held: None,
            broke: None,
            stopped: None,
            steps: Vec::new(),
        }
    }

    /// The rate to hold next, or `None` once the search has its answer.
    pub(crate) fn next(&mut self) -> Option<f64> {
        if self.stopped.is_some() {
            return None;
        }
        let s = &self.spec.0;
        // Workers are whole: each climb adds at least one, and the
        // bisection ends when no whole number lies between.
        let whole = s.axis == CapacityAxis::Workers;
        let rate = match (&self.held, &self.broke) {
            (None, None) => s.low,
            // Climbing.
            (Some(h), None) if whole => (h * s.step).ceil().max(h + 1.0).min(s.high),
            (Some(h), None) => (h * s.step).min(s.high),
            (None, Some(_)) => {
                self.stopped = Some(Stopped::Bottom);
                return None;
            }
            // Bisecting.
            (Some(h), Some((b, ..))) => {
                if (b - h) / h <= s.precision || (whole && b - h <= 1.0) {
                    self.stopped = Some(Stopped::Bracketed);
                    return None;
                }
                if whole {
                    ((h + b) / 2.0).floor()
                } else {
                    (h + b) / 2.0
                }
            }
        };
        Some(rate)
    }

    /// How the step at `step.offered` ended.
    pub(crate) fn record(&mut self, step: CapacityStep) {
        let rate = step.offered;
        match &step.outcome {
            StepOutcome::Held => {
                self.held = Some(self.held.map_or(rate, |h| h.max(rate)));
                if rate >= self.spec.0.high {
                    self.stopped = Some(Stopped::Top);
                }
            }
            StepOutcome::Broke {
                threshold,
                observed,
            } => {
                if self.broke.as_ref().is_none_or(|(b, ..)| rate < *b) {
                    self.broke = Some((rate, threshold.clone(), observed.clone()));
                }
            }
            StepOutcome::GeneratorLimited { reason } => {
                self.stopped = Some(Stopped::Generator(reason.clone()));
            }
        }
        self.steps.push(step);
    }

    /// The timeout stops the search with what it knows.
    pub(crate) fn stop_for_timeout(&mut self) {
        if self.stopped.is_none() {
            self.stopped = Some(Stopped::Timeout);
        }
    }

    /// The answer.
    pub(crate) fn result(self) -> CapacityResult {
        let axis = self.spec.0.axis;
        let rate = |r: f64| axis.format(r);
        let noun = match axis {
            CapacityAxis::Rate => "rate",
            CapacityAxis::Workers => "number of workers",
        };
        let (held, stopped) = (self.held, self.stopped.unwrap_or(Stopped::Timeout));
        let broke = self.broke.clone();
        let why = broke
            .as_ref()
            .map(|(b, t, o)| format!("{} broke `{t}` ({o})", rate(*b)))
            .unwrap_or_default();
        let (at_least, generator_limited, verdict) = match (&stopped, held) {
            (Stopped::Generator(reason), Some(h)) => (
                true,
                Some(reason.clone()),
                format!(
                    "capacity ≥ {}: limited by the load generator, not by the system under test ({reason})",
                    rate(h)
                ),
            ),
            (Stopped::Generator(reason), None) => (
                true,
                Some(reason.clone()),
                format!(
                    "no capacity found: the load generator could not produce {} ({reason}), so the system under test was never the limit",
                    rate(self.spec.0.low)
                ),
            ),
            (Stopped::Top, Some(h)) => (
                true,
                None,
                format!("capacity ≥ {}: the top of the range held", rate(h)),
            ),
            (Stopped::Timeout, Some(h)) => (
                true,
                None,
                format!(
                    "capacity ≥ {}: the timeout stopped the search after {} steps{}",
                    rate(h),
                    self.steps.len(),
                    if why.is_empty() { String::new() } else { format!("; {why}") }
                ),
            ),
            (Stopped::Timeout, None) => (
                true,
                None,
                "no capacity found: the timeout came before a step held".to_owned(),
            ),
            (_, None) => (
                false,
                None,
                format!(
                    "no {noun} in {}..={} held: {why}",
                    rate(self.spec.0.low),
                    rate(self.spec.0.high)
                ),
            ),
            (_, Some(h)) => (
                false,
                None,
                format!(
                    "capacity {}: the highest {noun} that held; {why}",
                    rate(h),
                ),
            ),
        };
        CapacityResult {
            axis,
            capacity: held,
            at_least,
            first_broken: broke.as_ref().map(|b| b.0),
            broken_by: broke.map(|b| b.1),
            generator_limited,
            knee: knee(&self.steps),
            range: (self.spec.0.low, self.spec.0.high),
            steps: self.steps,
            verdict,
        }
    }
}

/// The lowest offered rate whose p95 is over twice the p95 at the lowest
/// rate run (generator-limited steps say nothing about the system).
fn knee(steps: &[CapacityStep]) -> Option<f64> {
    let mut judged: Vec<&CapacityStep> = steps
        .iter()
        .filter(|s| !matches!(s.outcome, StepOutcome::GeneratorLimited { .. }))
        .collect();
    judged.sort_by(|a, b| a.offered.total_cmp(&b.offered));
    let base = judged.first()?.p95_ns;
    judged
        .iter()
        .find(|s| s.p95_ns > 2 * base)
        .map(|s| s.offered)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn step(offered: f64, outcome: StepOutcome, p95_ms: u64) -> CapacityStep {
        CapacityStep {
            offered,
            achieved: offered,
            iterations: 100,
            dropped: 0,
            p50_ns: p95_ms * 500_000,
            p95_ns: p95_ms * 1_000_000,
            p99_ns: p95_ms * 1_200_000,
            mean_ns: p95_ms * 600_000,
            error_rate: 0.0,
            start_delay_p95_ns: None,
            cpu: None,
            outcome,
        }
    }

    /// Runs the search against a system that holds up to `capacity` and
    /// whose p95 doubles past `knee`; `limit` is where the generator gives
    /// out.
    fn search(spec: Capacity, capacity: f64, knee: f64, limit: f64) -> (CapacityResult, Vec<f64>) {
        let mut s = Search::new(spec);
        let mut rates = Vec::new();
        while let Some(rate) = s.next() {
            rates.push(rate);
            let p95 = if rate >= knee { 30 } else { 10 };
            let outcome = if rate > limit {
                StepOutcome::GeneratorLimited {
                    reason: "CPU saturated".into(),
                }
            } else if rate > capacity {
                StepOutcome::Broke {
                    threshold: "p95 < 50ms".into(),
                    observed: "80ms".into(),
                }
            } else {
                StepOutcome::Held
            };
            s.record(step(rate, outcome, p95));
            assert!(rates.len() < 100, "the search ends");
        }
        (s.result(), rates)
    }

    #[test]
    fn climbs_geometrically_then_bisects_to_the_precision() {
        let (r, rates) = search(Capacity::rate(50.0..=20_000.0), 800.0, 500.0, f64::MAX);
        // 50, 75, 112.5, 168.75, 253.1, 379.7, 569.5, 854.3 (broke), then bisection.
        assert_eq!(&rates[..3], &[50.0, 75.0, 112.5]);
        assert!((rates[7] - 854.3).abs() < 0.1, "{rates:?}");
        let (held, broke) = (r.capacity.unwrap(), r.first_broken.unwrap());
        assert!(held <= 800.0 && broke > 800.0, "{held} {broke}");
        assert!((broke - held) / held <= 0.05, "{held} {broke}");
        assert!(!r.at_least);
        assert_eq!(r.broken_by.as_deref(), Some("p95 < 50ms"));
        assert!(r.verdict.starts_with("capacity "), "{}", r.verdict);
        // The knee: the first rate at or past 500 run.
        assert!((r.knee.unwrap() - 569.5).abs() < 0.1, "{:?}", r.knee);
        assert!(r.knee.unwrap() < held);
    }

    #[test]
    fn the_generator_limit_stops_the_search_without_a_capacity() {
        let (r, _) = search(Capacity::rate(50.0..=1e6), 1e9, 1e9, 300.0);
        assert!(r.at_least);
        assert_eq!(r.capacity, Some(253.125));
        assert!(r.first_broken.is_none());
        assert!(
            r.verdict
                .contains("limited by the load generator, not by the system under test"),
            "{}",
            r.verdict
        );
        // A generator that cannot even produce the lowest rate.
        let (r, rates) = search(Capacity::rate(50.0..=1e6), 1e9, 1e9, 10.0);
        assert_eq!(rates, [50.0]);
        assert_eq!(r.capacity, None);
        assert!(r.verdict.contains("never the limit"), "{}", r.verdict);
    }

    #[test]
    fn the_ends_of_the_range() {
        let (r, rates) = search(Capacity::rate(100.0..=1_000.0), 1e9, 1e9, f64::MAX);
        assert_eq!(
            *rates.last().unwrap(),
            1_000.0,
            "the top is run, not passed"
        );
        assert_eq!((r.capacity, r.at_least), (Some(1_000.0), true));
        assert!(r.verdict.contains("top of the range"), "{}", r.verdict);
        let (r, rates) = search(Capacity::rate(100.0..=1_000.0), 50.0, 1e9, f64::MAX);
        assert_eq!(rates, [100.0]);
        assert_eq!(r.capacity, None);
        assert!(r.verdict.starts_with("no rate in"), "{}", r.verdict);
    }

    #[test]
    fn a_timeout_keeps_the_best_known() {
        let mut s = Search::new(Capacity::rate(50.0..=20_000.0));
        for _ in 0..3 {
            let rate = s.next().unwrap();
            s.record(step(rate, StepOutcome::Held, 10));
        }
        s.stop_for_timeout();
        assert_eq!(s.next(), None);
        let r = s.result();
        assert_eq!((r.capacity, r.at_least), (Some(112.5), true));
        assert!(
            r.verdict
                .contains("timeout stopped the search after 3 steps"),
            "{}",
            r.verdict
        );
    }

    #[test]
    fn a_search_over_workers_steps_by_whole_workers_to_the_exact_count() {
        // 1, 2, 3, 5, 8, 12 (broke), then 10 (broke), 9 (held): 9 of 9.5.
        let (r, workers) = search(Capacity::workers(1..=512), 9.5, 1e9, f64::MAX);
        assert_eq!(workers, [1.0, 2.0, 3.0, 5.0, 8.0, 12.0, 10.0, 9.0]);
        assert_eq!((r.capacity, r.first_broken), (Some(9.0), Some(10.0)));
        assert_eq!(r.axis, CapacityAxis::Workers);
        assert!(
            r.verdict
                .starts_with("capacity 9 workers: the highest number of workers"),
            "{}",
            r.verdict
        );
        // The climb adds a worker at least, and the top is run.
        let (r, workers) = search(Capacity::workers(1..=4).step(1.1), 1e9, 1e9, f64::MAX);
        assert_eq!(workers, [1.0, 2.0, 3.0, 4.0]);
        assert_eq!((r.capacity, r.at_least), (Some(4.0), true));
        assert!(r.verdict.contains("4 workers"), "{}", r.verdict);
    }

    #[test]
    fn settings_are_checked() {
        let bad = |c: Capacity| c.check().unwrap_err();
        assert!(bad(Capacity::rate(100.0..=50.0)).contains("reversed"));
        assert!(bad(Capacity::rate(0.0..=50.0)).contains("positive"));
        assert!(
            bad(Capacity::rate(1.0..=50.0).hold(std::time::Duration::from_millis(500)))
                .contains("shorter than 1s")
        );
        assert!(bad(Capacity::rate(1.0..=50.0).step(1.0)).contains("above 1"));
        assert!(bad(Capacity::rate(1.0..=50.0).precision(0.0)).contains("(0, 1)"));
        assert!(Capacity::rate(1.0..=50.0).check().is_ok());
    }
}
