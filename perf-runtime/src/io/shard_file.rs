//! Shard identity from the environment, the common start, and shard
//! result files.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::io::files::{report_path, write_atomically};
use crate::model::error::Error;
use crate::model::report::Report;
use crate::model::shard::{Shard, ShardResult, SHARD_FORMAT, SHARD_SCHEMA_VERSION};
use crate::output::sink::Sink;

impl Shard {
    /// The shard this process runs, from the environment (see the
    /// [module docs](crate::shard)); `None` when it is not sharded.
    pub fn from_env() -> Result<Option<Shard>, Error> {
        Shard::from_lookup(&crate::io::config::process)
    }

    pub(crate) fn from_lookup(
        get: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Option<Shard>, Error> {
        let get = |k: &str| get(k).filter(|v| !v.trim().is_empty());
        let bad = |var: &str, value: String, reason: &str| Error::Env {
            var: var.to_owned(),
            value,
            reason: reason.to_owned(),
        };
        if let Some(value) = get("PERF_SHARD") {
            let parsed = value.trim().split_once('/').and_then(|(i, n)| {
                Some((i.trim().parse::<u32>().ok()?, n.trim().parse::<u32>().ok()?))
            });
            let Some((index, total)) = parsed else {
                return Err(bad(
                    "PERF_SHARD",
                    value,
                    "expected INDEX/TOTAL with INDEX from 1, e.g. 2/8",
                ));
            };
            return Shard::new(index, total)
                .map(Some)
                .map_err(|r| bad("PERF_SHARD", value, &r));
        }
        let Some(total_text) = get("PERF_SHARDS") else {
            return Ok(None);
        };
        let total = match total_text.trim().parse::<u32>() {
            Ok(n) if n >= 1 => n,
            _ => {
                return Err(bad(
                    "PERF_SHARDS",
                    total_text,
                    "expected the number of shards, at least 1",
                ))
            }
        };
        for var in ["JOB_COMPLETION_INDEX", "AWS_BATCH_JOB_ARRAY_INDEX"] {
            if let Some(value) = get(var) {
                return match value.trim().parse::<u32>() {
                    Ok(i) if i < total => Ok(Some(Shard {
                        index: i + 1,
                        total,
                    })),
                    _ => Err(bad(
                        var,
                        value,
                        &format!("expected a 0-based index below PERF_SHARDS={total}"),
                    )),
                };
            }
        }
        Err(bad(
            "PERF_SHARDS",
            total_text,
            "set, but no shard index: set PERF_SHARD=INDEX/TOTAL, or run as a Kubernetes Indexed Job \
             (JOB_COMPLETION_INDEX) or an AWS Batch array job (AWS_BATCH_JOB_ARRAY_INDEX)",
        ))
    }
}

/// The furthest in the future a common start may be: a start further away
/// is a mistake (a time in milliseconds reads as 56,000 years from now).
pub const MAX_START_WAIT: Duration = Duration::from_secs(24 * 3600);

/// The common start time, from `PERF_START_AT` (Unix seconds, fractions
/// allowed, e.g. `1764324000` or `1764324000.5`), at most
/// [`MAX_START_WAIT`] from now. The run's `timeout` covers the wait.
pub fn start_at_from_env() -> Result<Option<SystemTime>, Error> {
    start_at_from(&crate::io::config::process, SystemTime::now())
}

pub(crate) fn start_at_from(
    get: &dyn Fn(&str) -> Option<String>,
    now: SystemTime,
) -> Result<Option<SystemTime>, Error> {
    let Some(value) = get("PERF_START_AT") else {
        return Ok(None);
    };
    let bad = |reason: String| Error::Env {
        var: "PERF_START_AT".into(),
        value: value.clone(),
        reason,
    };
    let seconds = match value.trim().parse::<f64>() {
        Ok(s) if s.is_finite() && s > 0.0 => s,
        _ => {
            return Err(bad(
                "expected a Unix time in seconds, e.g. $(( $(date +%s) + 30 ))".into(),
            ))
        }
    };
    let at = Duration::try_from_secs_f64(seconds)
        .ok()
        .and_then(|d| UNIX_EPOCH.checked_add(d))
        .ok_or_else(|| bad("is not a time this machine can represent".into()))?;
    check_start(at, now).map(Some).map_err(bad)
}

/// A start at most [`MAX_START_WAIT`] after `now`.
pub(crate) fn check_start(at: SystemTime, now: SystemTime) -> Result<SystemTime, String> {
    match at.duration_since(now) {
        Ok(wait) if wait > MAX_START_WAIT => Err(format!(
            "is {} from now, more than the limit of 24 h (Unix time in seconds, not milliseconds?)",
            perf_spec::format_duration(wait)
        )),
        _ => Ok(at),
    }
}

/// The shard result sink: writes the report's shard result into a
/// directory (next to the report, or `PERF_RESULTS`), and notes where.
pub(crate) struct ShardDir(pub(crate) PathBuf);

impl Sink for ShardDir {
    fn deliver(&self, report: &Report, notes: &mut Vec<String>) -> Result<(), Error> {
        let Some(result) = report.shard_result() else {
            return Ok(());
        };
        let path = result.path_in(&self.0);
        result.write(&path)?;
        notes.push(format!("shard result: {}", path.display()));
        Ok(())
    }
}

/// `<host name> pid <pid>`: which machine and process produced a result.
pub(crate) fn origin() -> String {
    let host = std::env::var("HOSTNAME")
        .ok()
        .filter(|h| !h.is_empty())
        .or_else(|| {
            std::fs::read_to_string("/proc/sys/kernel/hostname")
                .ok()
                .map(|h| h.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown-host".into());
    format!("{host} pid {}", std::process::id())
}

impl ShardResult {
    /// The file name of this result: `<test path>.shard-2-of-8.json` under
    /// `dir` (the test's `::` become directories, as for reports).
    pub fn path_in(&self, dir: &Path) -> PathBuf {
        let report = report_path(dir, &self.name);
        report.with_extension(format!(
            "shard-{}-of-{}.json",
            self.shard.index, self.shard.total
        ))
    }

    /// The JSON text.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("a shard result always serialises")
    }

    /// Parses a shard result; `source` names it in errors.
    pub fn from_json(text: &str, source: &str) -> Result<ShardResult, String> {
        let mut r: ShardResult = serde_json::from_str(text)
            .map_err(|e| format!("{source} is not a perf-runtime shard result: {e}"))?;
        if r.format != SHARD_FORMAT {
            return Err(format!(
                "{source}: format is {:?}, not {SHARD_FORMAT:?}",
                r.format
            ));
        }
        if r.schema_version != SHARD_SCHEMA_VERSION {
            return Err(format!(
                "{source}: shard schema version {} (this build reads {SHARD_SCHEMA_VERSION})",
                r.schema_version
            ));
        }
        r.source = Some(source.to_owned());
        Ok(r)
    }

    /// Writes the result to `path` atomically.
    pub fn write(&self, path: &Path) -> Result<(), Error> {
        write_atomically(path, self.to_json().as_bytes()).map_err(|source| Error::Report {
            path: path.to_owned(),
            source,
        })
    }

    /// Reads a result file.
    pub fn read(path: &Path) -> Result<ShardResult, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("reading {}: {e}", path.display()))?;
        ShardResult::from_json(&text, &path.display().to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::distributed::merge::tests::synthetic;
    use crate::model::after::AfterRun;
    use crate::model::shard::SavedThreshold;
    use crate::model::threshold::Threshold;
    use std::collections::BTreeMap;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: BTreeMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| map.get(k).cloned()
    }

    #[test]
    fn the_shard_comes_from_perf_shard_or_an_index_and_perf_shards() {
        let s = |pairs: &[(&str, &str)]| Shard::from_lookup(&env(pairs));
        assert_eq!(s(&[]).unwrap(), None);
        assert_eq!(
            s(&[("PERF_SHARD", "2/8")]).unwrap(),
            Some(Shard { index: 2, total: 8 })
        );
        assert_eq!(
            s(&[("PERF_SHARDS", "8"), ("JOB_COMPLETION_INDEX", "0")]).unwrap(),
            Some(Shard { index: 1, total: 8 })
        );
        assert_eq!(
            s(&[("PERF_SHARDS", "4"), ("AWS_BATCH_JOB_ARRAY_INDEX", "3")]).unwrap(),
            Some(Shard { index: 4, total: 4 })
        );
        // An index without PERF_SHARDS is not sharding (other Indexed Jobs).
        assert_eq!(s(&[("JOB_COMPLETION_INDEX", "3")]).unwrap(), None);
        for (pairs, var) in [
            (&[("PERF_SHARD", "0/8")][..], "PERF_SHARD"),
            (&[("PERF_SHARD", "9/8")][..], "PERF_SHARD"),
            (&[("PERF_SHARD", "two")][..], "PERF_SHARD"),
            (
                &[("PERF_SHARDS", "4"), ("JOB_COMPLETION_INDEX", "4")][..],
                "JOB_COMPLETION_INDEX",
            ),
            (&[("PERF_SHARDS", "4")][..], "PERF_SHARDS"),
            (
                &[("PERF_SHARDS", "0"), ("JOB_COMPLETION_INDEX", "0")][..],
                "PERF_SHARDS",
            ),
        ] {
            let err = s(pairs).unwrap_err().to_string();
            assert!(err.contains(var), "{pairs:?}: {err}");
        }
    }

    #[test]
    fn thresholds_survive_the_result_file() {
        let ts = [
            Threshold::p(95.0).lt(Duration::from_millis(200)),
            Threshold::error_rate().lt(0.01),
            Threshold::class_rate("throttle").le(0.001),
            Threshold::p(99.0).lt(Duration::from_millis(300)).per(10),
            Threshold::of("consumed_rcu").mean().lt(1.5),
            Threshold::of("execution")
                .p(95.0)
                .lt_duration(Duration::from_millis(500)),
        ];
        for t in ts {
            let saved = SavedThreshold::save(&t);
            let json = serde_json::to_string(&saved).unwrap();
            let back: SavedThreshold = serde_json::from_str(&json).unwrap();
            assert_eq!(back.load().unwrap().to_string(), t.to_string());
        }
    }

    #[test]
    fn baseline_and_publishing_settings_survive_the_result_file() {
        use crate::model::after::Publish;
        use crate::model::baseline::Regression;
        let after = AfterRun {
            baseline: Some("v1".into()),
            regressions: vec![
                Regression {
                    metric: Some(perf_spec::Metric::Percentile(
                        perf_spec::Percentile::new(99.9).unwrap(),
                    )),
                    budget: 0.1,
                },
                Regression {
                    metric: None,
                    budget: 0.25,
                },
            ],
            save_baseline: Some("v2".into()),
            publish: vec![Publish::CloudWatch, Publish::EmfFile("/tmp/m.log".into())],
            namespace: Some("Shop".into()),
        };
        let mut r = synthetic(1, 1_000, &[(10, 1_000_000)], 0);
        r.after = after.clone();
        let back: ShardResult = serde_json::from_str(&r.to_json()).unwrap();
        assert_eq!(back.after, after);
        // Results written before the settings were carried still read.
        let mut old: serde_json::Value = serde_json::from_str(&r.to_json()).unwrap();
        old.as_object_mut().unwrap().remove("after");
        let back: ShardResult = serde_json::from_value(old).unwrap();
        assert_eq!(back.after, AfterRun::default());
    }
    /// A shard that ran `seconds` (iterations, latency) from `start_s`,
    /// with `throttles` failed iterations of class `throttle`.
    #[test]
    fn a_start_far_away_is_refused_with_the_variable() {
        let now = UNIX_EPOCH + Duration::from_secs(1_764_324_000);
        let at = |v: &str| start_at_from(&env(&[("PERF_START_AT", v)]), now);
        assert_eq!(
            at("1764324030").unwrap(),
            Some(now + Duration::from_secs(30))
        );
        // In the past: start at once.
        assert!(at("1000").unwrap().is_some());
        for (value, needle) in [
            ("1764324000000", "more than the limit of 24 h"),
            ("99999999999999999999", "can represent"),
            ("1e300", "can represent"),
            ("soon", "expected a Unix time"),
        ] {
            let e = at(value).unwrap_err().to_string();
            assert!(
                e.contains("PERF_START_AT") && e.contains(value) && e.contains(needle),
                "{e}"
            );
        }
    }
}
