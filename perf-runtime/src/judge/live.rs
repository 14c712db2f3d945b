//! `abort_on_fail`: thresholds judged on the run so far, while it runs.
//! A figure with no data yet is not broken, only not known; a per-window
//! threshold is judged on the newest full window.

use std::time::Duration;

use perf_spec::format_duration;

use crate::judge::figures::Figures;
use crate::measure::recorder::Shared;
use crate::model::threshold::Threshold;
use crate::run::monitor::LiveCheck;

/// The live check of a test's thresholds.
pub(crate) struct AbortCheck(pub(crate) Vec<Threshold>);

impl AbortCheck {
    /// The check, or `None` when there is nothing to check.
    pub(crate) fn of(thresholds: &[Threshold]) -> Option<Box<dyn LiveCheck>> {
        (!thresholds.is_empty()).then(|| Box::new(AbortCheck(thresholds.to_vec())) as _)
    }
}

impl LiveCheck for AbortCheck {
    fn broken(&self, s: &Shared, elapsed: Duration) -> Option<String> {
        let hist = s.latency_so_far();
        let so_far = Figures::so_far(s, elapsed, &hist, None);
        let complete = elapsed.as_secs() as u32;
        // A phase is judged when it is over: a peak that has not recovered
        // yet is what a recovery threshold waits for.
        for t in self.0.iter().filter(|t| t.0.phase.is_none()) {
            let verdict = match t.window_seconds() {
                None => t.check_so_far(&so_far).map(|v| (v, String::new())),
                Some(w) if complete >= w => {
                    let window = s.window(complete - w, w);
                    t.check_so_far(&window.figures())
                        .map(|v| (v, format!(" in the window {}s–{}s", complete - w, complete)))
                }
                Some(_) => None,
            };
            if let Some((observed, place)) = verdict {
                return Some(format!(
                    "aborted after {}: `{t}` broken{place} (observed {observed})",
                    format_duration(elapsed)
                ));
            }
        }
        None
    }
}
