//! Ramping closed-model workers through `stages`.

use std::time::Duration;

use perf_spec::Stage;

/// Ramping workers (closed model with stages): how many are active when.
pub(super) struct Ramp {
    pub(super) start: f64,
    pub(super) stages: Vec<Stage>,
}

impl Ramp {
    pub(super) fn active_at(&self, t: Duration) -> usize {
        let mut from = self.start;
        let mut at = Duration::ZERO;
        for s in &self.stages {
            if t < at + s.duration {
                let f = (t - at).as_secs_f64() / s.duration.as_secs_f64();
                return (from + (s.target - from) * f).round() as usize;
            }
            at += s.duration;
            from = s.target;
        }
        from.round() as usize
    }
}
