//! The load shape in one line of the summary: model, workers or rate,
//! stages, length, runtime threads.

use std::fmt::Write;

use perf_spec::format_duration;

use crate::model::load::{LoadShape, Stop, Warmup};
use crate::output::summary::rate;

fn plural(n: usize, one: &str) -> String {
    format!("{n} {one}{}", if n == 1 { "" } else { "s" })
}

/// The load shape in one line.
pub(crate) fn load_line(l: &LoadShape) -> String {
    let mut load = match (l.rate, l.profile, l.stages.is_empty()) {
        (Some(r), Some(p), _) => format!(
            "open model, profile {p} of {} ({}), pool of {}",
            rate(r),
            l.planned_length().map(format_duration).unwrap_or_default(),
            plural(l.workers, "worker")
        ),
        (Some(r), None, true) => format!(
            "open model, {} for {}, pool of {}",
            rate(r),
            l.planned_length().map(format_duration).unwrap_or_default(),
            plural(l.workers, "worker")
        ),
        (Some(r), None, false) => {
            let targets: Vec<String> = l.stages.iter().map(|s| rate(s.target)).collect();
            format!(
                "open model, ramping {} → {} over {}, pool of {}",
                rate(r),
                targets.join(" → "),
                l.planned_length().map(format_duration).unwrap_or_default(),
                plural(l.workers, "worker")
            )
        }
        (None, _, false) => {
            let targets: Vec<String> = l.stages.iter().map(|s| format!("{}", s.target)).collect();
            format!(
                "closed model, ramping {} → {} workers over {}",
                l.workers,
                targets.join(" → "),
                l.planned_length().map(format_duration).unwrap_or_default()
            )
        }
        (None, _, true) => {
            let stop = match (l.stop, l.auto) {
                (Stop::Repeat(n), Some(auto)) => {
                    let time = auto
                        .max_duration
                        .map(|d| format!(" or {}", format_duration(d)))
                        .unwrap_or_default();
                    format!(
                        "repeat = \"auto\" (until conclusive, at most {} iterations{time})",
                        perf_spec::format_count(n)
                    )
                }
                (Stop::Repeat(n), None) => format!("{n} iterations"),
                (Stop::Duration(t), _) => format!("for {}", format_duration(t)),
            };
            format!("closed model, {}, {stop}", plural(l.workers, "worker"))
        }
    };
    match l.warmup {
        Some(Warmup::Iterations(n)) => {
            let _ = write!(load, ", warm-up {n} iterations");
        }
        Some(Warmup::Time(t)) => {
            let _ = write!(load, ", warm-up {}", format_duration(t));
        }
        None => {}
    }
    let _ = write!(load, ", {}", plural(l.worker_threads, "runtime thread"));
    if !l.overrides.is_empty() {
        let _ = write!(load, " (from {})", l.overrides.join(", "));
    }
    load
}
