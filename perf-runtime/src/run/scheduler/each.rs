//! A test's runs (`runs = N`), one after another.

use std::future::Future;
use std::sync::Arc;
use std::time::{Instant, SystemTime};

use crate::measure::{calibrate, scope};
use crate::model::load::LoadShape;
use crate::model::measured::Measured;
use crate::model::outcome::IntoOutcome;
use crate::run::ctx::Ctx;
use crate::run::monitor::Watching;

/// The test's runs one after another (each a whole load with its own
/// warm-up), stopping after one that timed out, was interrupted, aborted
/// or left tasks behind: the remaining runs would measure nothing sound.
pub(crate) async fn run_each<F, Fut>(
    load: &LoadShape,
    watching: Vec<Watching>,
    scope: Option<&'static scope::Scope>,
    deadline: Option<Instant>,
    f: F,
) -> Vec<Measured>
where
    F: Fn(Ctx) -> Fut + Send + Sync + 'static,
    Fut: Future + Send + 'static,
    Fut::Output: IntoOutcome,
{
    // Bookkeeping, not the test's allocations: the memory figures count
    // what the scope holds at the end of a run.
    let (f, mut runs) = {
        let _paused = scope::pause();
        (Arc::new(f), Vec::with_capacity(watching.len()))
    };
    let count = watching.len();
    for (i, watching) in watching.into_iter().enumerate() {
        let f = Arc::clone(&f);
        // The machine check between runs, not during them: the machine is
        // known at the start and the end of each run (see `calibrate`).
        let calibrate = watching.calibrate;
        let machine = || {
            // Bookkeeping, not the test's allocations.
            let _paused = scope::pause();
            calibrate::calibrate()
        };
        let before = calibrate.then(machine);
        let mut m = super::execute(load, watching, scope, deadline, move |ctx| (*f)(ctx)).await;
        let stop = m.timed_out || m.interrupted || m.aborted.is_some() || m.stopped.is_some();
        m.calibrations.extend(before);
        if calibrate && (stop || i + 1 == count) {
            m.calibrations.push(machine());
        }
        runs.push(m);
        if stop {
            break;
        }
    }
    runs
}

/// Sleeps until `at` (returns at once if it has passed), or until the
/// run's `deadline`, whichever comes first.
pub(crate) async fn wait_until(at: SystemTime, deadline: Option<std::time::Instant>) {
    if let Ok(left) = at.duration_since(SystemTime::now()) {
        let until = std::time::Instant::now() + left;
        let until = deadline.map_or(until, |d| d.min(until));
        tokio::time::sleep_until(until.into()).await;
    }
}
