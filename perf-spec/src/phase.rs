//! Phases: named stages of a ramp (`("peak", "2m", 1000)`), consecutive
//! stages of one name making one phase, and the rules of the thresholds
//! judged on one (`p95 in "peak" < "300ms"`, `mean in "peak" < 1.5 *
//! "baseline"`, `recovery in "peak" < "60s"`).

use std::time::Duration;

use crate::load::Stage;
use crate::threshold::{Metric, ThresholdSpec};

/// How long a recovered figure must stay within its limit (or until the
/// phase ends, if that comes first).
pub const RECOVERY_HOLD: Duration = Duration::from_secs(10);

/// A phase of the run: from `start` to `end` of the measured time.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Phase {
    /// Its name, as the stages give it.
    pub name: &'static str,
    /// When its first stage begins.
    pub start: Duration,
    /// When its last stage ends.
    pub end: Duration,
}

/// The phases of `stages`: each run of consecutive stages with one name.
/// A name used again after another stage is an error (one phase, one
/// stretch of time), and so is an empty name.
pub fn phases(stages: &[Stage]) -> Result<Vec<Phase>, String> {
    let mut phases: Vec<Phase> = Vec::new();
    let mut at = Duration::ZERO;
    let mut previous: Option<&'static str> = None;
    for stage in stages {
        let end = at + stage.duration;
        if let Some(name) = stage.name {
            if name.trim().is_empty() {
                return Err(
                    "a stage's name is a non-empty string, e.g. (\"peak\", \"2m\", 1000)".into(),
                );
            }
            if previous == Some(name) {
                if let Some(last) = phases.last_mut() {
                    last.end = end;
                }
            } else if phases.iter().any(|p| p.name == name) {
                return Err(format!(
                    "phase \"{name}\" is split by other stages: consecutive stages with one name make one phase; give the later ones another name"
                ));
            } else {
                phases.push(Phase {
                    name,
                    start: at,
                    end,
                });
            }
        }
        previous = stage.name;
        at = end;
    }
    Ok(phases)
}

/// Why `name` is not a phase, when `names` are: the closest suggested,
/// else the phases listed, else how to make one.
pub fn unknown_phase(name: &str, names: &[&str]) -> String {
    match crate::suggest::closest(name, names) {
        Some(near) => format!("no phase {name:?} in the stages; did you mean {near:?}?"),
        None if names.is_empty() => format!(
            "no phase {name:?}: no stage has a name; name one, e.g. (\"{name}\", \"1m\", 1000)"
        ),
        None => format!(
            "no phase {name:?} in the stages; phases: {}",
            names
                .iter()
                .map(|p| format!("{p:?}"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// Whether `metric` has a figure per phase (from the run's per-second
/// timeline: latency, error and drop rates, throughput, drops), so that
/// `in "phase"` and relative limits mean something for it.
pub fn has_phase_figure(metric: Metric) -> bool {
    matches!(
        metric,
        Metric::Mean
            | Metric::Min
            | Metric::Max
            | Metric::Percentile(_)
            | Metric::ErrorRate
            | Metric::Throughput
            | Metric::Dropped
            | Metric::DroppedRate
            | Metric::Recovery(_)
    )
}

/// The limit a recovery of `metric` (a percentile) in `phase` is judged
/// against: the tightest absolute upper bound on it, of that phase or of
/// the whole run (untagged, not per window). `None`: nothing to recover
/// within.
pub fn recovery_limit(specs: &[ThresholdSpec], metric: Metric, phase: Option<&str>) -> Option<f64> {
    specs
        .iter()
        .filter(|s| {
            s.metric == metric
                && s.op.is_upper_bound()
                && s.tag.is_none()
                && s.window.is_none()
                && s.relative_to.is_none()
                && (s.phase.is_none() || s.phase == phase)
        })
        .map(|s| s.limit)
        .min_by(f64::total_cmp)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stage(name: Option<&'static str>, secs: u64) -> Stage {
        Stage {
            name,
            duration: Duration::from_secs(secs),
            target: 1.0,
        }
    }

    #[test]
    fn consecutive_stages_of_one_name_are_one_phase() {
        let s = |n| Duration::from_secs(n);
        let p = phases(&[
            stage(Some("baseline"), 30),
            stage(Some("peak"), 0),
            stage(Some("peak"), 120),
            stage(None, 10),
        ])
        .unwrap();
        assert_eq!(
            p,
            [
                Phase {
                    name: "baseline",
                    start: s(0),
                    end: s(30)
                },
                Phase {
                    name: "peak",
                    start: s(30),
                    end: s(150)
                }
            ]
        );
        let split = phases(&[
            stage(Some("a"), 1),
            stage(Some("b"), 1),
            stage(Some("a"), 1),
        ]);
        assert!(split.unwrap_err().contains("split"));
        assert!(phases(&[stage(Some(" "), 1)]).is_err());
        assert!(phases(&[stage(None, 1)]).unwrap().is_empty());
    }

    #[test]
    fn a_recovery_is_judged_against_the_tightest_limit_of_its_phase_or_the_run() {
        use crate::threshold::{Op, Percentile};
        let p95 = Metric::Percentile(Percentile::new(95.0).unwrap());
        let spec =
            |limit: f64, phase: Option<&'static str>, tag: Option<&'static str>| ThresholdSpec {
                metric: p95,
                op: Op::Lt,
                limit,
                window: None,
                tag,
                phase,
                relative_to: None,
            };
        let specs = [
            spec(200.0, None, None),
            spec(300.0, Some("peak"), None),
            spec(100.0, Some("baseline"), None),
            spec(50.0, None, Some("cold")),
        ];
        assert_eq!(recovery_limit(&specs, p95, Some("peak")), Some(200.0));
        assert_eq!(recovery_limit(&specs, p95, Some("baseline")), Some(100.0));
        assert_eq!(recovery_limit(&specs[1..2], p95, Some("peak")), Some(300.0));
        assert_eq!(recovery_limit(&specs[3..], p95, Some("peak")), None);
        // The rules of a phase threshold.
        let recovery = |phase| ThresholdSpec {
            metric: Metric::Recovery(Percentile::new(95.0).unwrap()),
            limit: 60e9,
            ..spec(0.0, phase, None)
        };
        assert!(recovery(Some("peak")).check().is_ok());
        assert!(recovery(None).check().unwrap_err().contains("in \"peak\""));
        let relative = ThresholdSpec {
            metric: Metric::Mean,
            limit: 1.5,
            relative_to: Some("baseline"),
            ..spec(0.0, Some("peak"), None)
        };
        assert!(relative.check().is_ok());
        assert_eq!(
            relative.to_string(),
            "mean in \"peak\" < 1.5 * \"baseline\""
        );
        assert!(ThresholdSpec {
            limit: 0.0,
            ..relative
        }
        .check()
        .is_err());
        assert!(ThresholdSpec {
            phase: None,
            ..relative
        }
        .check()
        .is_err());
        assert!(ThresholdSpec {
            metric: Metric::PeakHeap,
            ..relative
        }
        .check()
        .is_err());
    }
}
