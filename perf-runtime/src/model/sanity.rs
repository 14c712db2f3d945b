//! Figures read from a file are not trusted: every number of a report
//! (and of a shard's resources and recorded data) is checked to be one a
//! run could have produced — finite, in its range, consistent with the
//! counts around it — before anything judges, merges or draws it. A
//! report with `capacity = 1e300` would otherwise overflow a chart's
//! axis, and `cpu_seconds = -1000` would pass `cpu < 80%`.
//!
//! Each check names the field (`capacity.knee`, `resources.cores`); the
//! reader adds the file.

use crate::model::capacity::CapacityResult;
use crate::model::measured::MAX_LATENCY_NS;
use crate::model::report::{CustomStats, LatencyStats, Report};
use crate::model::resources::Resources;
use crate::model::shard::RecordedData;

/// The fastest rate a report can hold, per second (a billion: far above
/// any generator, far below what a chart's axis overflows at).
pub(crate) const MAX_RATE: f64 = 1e9;
/// The longest span a report can cover, seconds (a year).
const MAX_SECONDS: f64 = 365.0 * 86_400.0;
/// The most cores a machine (or a fleet of shards) can have.
const MAX_CORES: f64 = 1e6;
/// A share of the cores: 1.0 is all busy; a little over 1 is what a
/// short interval reads on a loaded machine (reports of older versions
/// hold such figures), far over it is not a reading.
const MAX_SHARE: f64 = 2.0;

/// A figure out of its range: the field and why.
pub(crate) type Bad = (String, String);

fn bad(field: impl Into<String>, reason: String) -> Bad {
    (field.into(), reason)
}

/// A number as a person reads it: `1e308`, not 309 digits.
fn show(v: f64) -> String {
    if v.is_finite() && v != 0.0 && !(1e-6..1e12).contains(&v.abs()) {
        format!("{v:e}")
    } else {
        format!("{v}")
    }
}

/// `v` is finite and within `lo..=hi`, or the error names `field` and
/// what it should be.
fn within(field: &str, v: f64, lo: f64, hi: f64, what: &str) -> Result<(), Bad> {
    if v.is_finite() && (lo..=hi).contains(&v) {
        Ok(())
    } else {
        Err(bad(
            field,
            format!("is {}, not {what} ({} to {})", show(v), show(lo), show(hi)),
        ))
    }
}

fn rate(field: &str, v: f64) -> Result<(), Bad> {
    within(field, v, 0.0, MAX_RATE, "a rate per second")
}

fn share(field: &str, v: f64) -> Result<(), Bad> {
    within(field, v, 0.0, 1.0, "a share")
}

fn cpu_share(field: &str, v: f64) -> Result<(), Bad> {
    within(field, v, 0.0, MAX_SHARE, "a share of the cores")
}

fn seconds(field: &str, v: f64) -> Result<(), Bad> {
    within(field, v, 0.0, MAX_SECONDS, "a span in seconds")
}

fn finite(field: &str, v: f64) -> Result<(), Bad> {
    if v.is_finite() {
        Ok(())
    } else {
        Err(bad(field, format!("is {v}, not a number")))
    }
}

/// `part` of `whole` (`errors` of `iterations`) is at most all of it.
fn at_most(field: &str, part: u64, whole: u64, of: &str) -> Result<(), Bad> {
    if part <= whole {
        Ok(())
    } else {
        Err(bad(field, format!("is {part}, more than the {whole} {of}")))
    }
}

/// A check's metric: each evaluation counts 1 (passed) or 0.
fn is_check(metric: &str) -> bool {
    metric.starts_with(perf_spec::CHECK_PREFIX) || metric == perf_spec::CHECKS_METRIC
}

impl LatencyStats {
    fn check(&self, at: &str) -> Result<(), Bad> {
        let ns = MAX_LATENCY_NS as f64;
        let f = |name: &str| format!("{at}.{name}");
        if self.count > 0 && self.min_ns > self.max_ns {
            return Err(bad(
                f("min_ns"),
                format!("is {}, above max_ns {}", self.min_ns, self.max_ns),
            ));
        }
        // A histogram's values are its buckets' highest equivalents: up
        // to 0.1% over the largest value recorded.
        let ceiling = MAX_LATENCY_NS + MAX_LATENCY_NS / 1000;
        at_most(
            &f("max_ns"),
            self.max_ns,
            ceiling,
            "ns of the recorder's ceiling",
        )?;
        within(&f("mean_ns"), self.mean_ns, 0.0, ns, "a latency in ns")?;
        within(&f("stddev_ns"), self.stddev_ns, 0.0, ns, "a spread in ns")?;
        for (i, p) in self.percentiles.iter().enumerate() {
            within(
                &f(&format!("percentiles[{i}].percentile")),
                p.percentile,
                0.0,
                100.0,
                "a percentile",
            )?;
            at_most(
                &f(&format!("percentiles[{i}].value_ns")),
                p.value_ns,
                ceiling,
                "ns of the recorder's ceiling",
            )?;
        }
        Ok(())
    }
}

impl CustomStats {
    fn check(&self, at: &str) -> Result<(), Bad> {
        let f = |name: &str| format!("{at}.{name}");
        finite(&f("sum"), self.sum)?;
        finite(&f("mean"), self.mean)?;
        if self.count > 0 {
            finite(&f("min"), self.min)?;
            finite(&f("max"), self.max)?;
            if self.min > self.max {
                return Err(bad(
                    f("min"),
                    format!("is {}, above max {}", self.min, self.max),
                ));
            }
        }
        if is_check(at.trim_start_matches("custom."))
            && !(0.0..=self.count as f64).contains(&self.sum)
        {
            return Err(bad(
                f("sum"),
                format!(
                    "is {}, but a check passes at most once in each of its {} evaluations",
                    self.sum, self.count
                ),
            ));
        }
        if let Some(s) = self.stdev {
            within(&f("stdev"), s, 0.0, f64::MAX, "a spread")?;
        }
        Ok(())
    }
}

impl CapacityResult {
    fn check_figures(&self) -> Result<(), Bad> {
        for (name, v) in [
            ("capacity", self.capacity),
            ("first_broken", self.first_broken),
            ("knee", self.knee),
        ] {
            if let Some(v) = v {
                rate(&format!("capacity.{name}"), v)?;
            }
        }
        let (lo, hi) = self.range;
        rate("capacity.range", lo)?;
        rate("capacity.range", hi)?;
        if lo > hi {
            return Err(bad(
                "capacity.range",
                format!("is {lo}..={hi}: it starts above its end"),
            ));
        }
        for (i, s) in self.steps.iter().enumerate() {
            let f = |name: &str| format!("capacity.steps[{i}].{name}");
            rate(&f("offered"), s.offered)?;
            rate(&f("achieved"), s.achieved)?;
            share(&f("error_rate"), s.error_rate)?;
            if let Some(c) = s.cpu {
                cpu_share(&f("cpu"), c)?;
            }
            for (name, ns) in [
                ("p50_ns", s.p50_ns),
                ("p95_ns", s.p95_ns),
                ("p99_ns", s.p99_ns),
                ("mean_ns", s.mean_ns),
            ] {
                at_most(
                    &f(name),
                    ns,
                    2 * MAX_LATENCY_NS,
                    "ns of the recorder's ceiling",
                )?;
            }
        }
        Ok(())
    }
}

impl Resources {
    /// The figures of a run's (or a shard's) resources, `at` the field
    /// they are under.
    pub(crate) fn check_figures(&self, at: &str) -> Result<(), Bad> {
        let f = |name: &str| format!("{at}.{name}");
        if !(self.cores.is_finite() && self.cores > 0.0 && self.cores <= MAX_CORES) {
            return Err(bad(
                f("cores"),
                format!(
                    "is {}, not a number of cores (above 0, at most {MAX_CORES})",
                    self.cores
                ),
            ));
        }
        seconds(&f("window_s"), self.window_s)?;
        seconds(&f("saturated_s"), self.saturated_s)?;
        // CPU time is at most every core busy the whole window (twice
        // that, and a second, for the readings' edges).
        let most = self.cores * self.window_s * MAX_SHARE + 1.0;
        within(
            &f("cpu_seconds"),
            self.cpu_seconds,
            0.0,
            most,
            "CPU seconds the cores could give in the window",
        )?;
        within(
            &f("cpu_user_seconds"),
            self.cpu_user_seconds,
            0.0,
            self.cpu_seconds.max(0.0) + 1e-9,
            "a part of cpu_seconds",
        )?;
        cpu_share(&f("cpu_avg"), self.cpu_avg)?;
        cpu_share(&f("cpu_max"), self.cpu_max)?;
        for (i, s) in self.samples.iter().enumerate() {
            let g = |name: &str| format!("{at}.samples[{i}].{name}");
            seconds(&g("at_s"), s.at_s)?;
            within(
                &g("cpu_cores"),
                s.cpu_cores,
                0.0,
                self.cores * MAX_SHARE,
                "cores in use",
            )?;
        }
        for (i, p) in self.processes.iter().enumerate() {
            let g = |name: &str| format!("{at}.processes[{i}].{name}");
            within(
                &g("cpu_seconds"),
                p.cpu_seconds,
                0.0,
                most,
                "CPU seconds the cores could give in the window",
            )?;
            cpu_share(&g("cpu_avg"), p.cpu_avg)?;
            cpu_share(&g("cpu_max"), p.cpu_max)?;
            for (j, s) in p.samples.iter().enumerate() {
                seconds(&g(&format!("samples[{j}].at_s")), s.at_s)?;
                within(
                    &g(&format!("samples[{j}].cpu_cores")),
                    s.cpu_cores,
                    0.0,
                    MAX_CORES,
                    "cores in use",
                )?;
            }
        }
        Ok(())
    }
}

impl RecordedData {
    /// The counts and custom figures of a shard's recorded data agree.
    pub(crate) fn check_figures(&self) -> Result<(), Bad> {
        let mut grouped = 0u64;
        for e in &self.error_counts {
            grouped = grouped.saturating_add(e.count);
        }
        at_most(
            "data.error_counts",
            grouped,
            self.errors,
            "errors the shard counted",
        )?;
        for (class, n) in &self.classes {
            at_most(
                &format!("data.classes.{class}"),
                *n,
                self.errors,
                "errors the shard counted",
            )?;
        }
        for (tag, t) in &self.tags {
            at_most(
                &format!("data.tags.{tag}.errors"),
                t.errors,
                self.errors,
                "errors the shard counted",
            )?;
        }
        for (metric, c) in &self.custom {
            let f = |name: &str| format!("data.custom.{metric}.{name}");
            finite(&f("sum"), c.sum)?;
            if c.count > 0 {
                finite(&f("min"), c.min)?;
                finite(&f("max"), c.max)?;
                if c.min > c.max {
                    return Err(bad(f("min"), format!("is {}, above max {}", c.min, c.max)));
                }
            }
            if let Some(m2) = c.m2 {
                within(&f("m2"), m2, 0.0, f64::MAX, "a sum of squared deviations")?;
            }
            if is_check(metric) && !(0.0..=c.count as f64).contains(&c.sum) {
                return Err(bad(
                    f("sum"),
                    format!(
                        "is {}, but a check passes at most once in each of its {} evaluations",
                        c.sum, c.count
                    ),
                ));
            }
        }
        Ok(())
    }
}

impl Report {
    /// Every figure of the report is one a run could have produced.
    pub(crate) fn check_figures(&self) -> Result<(), Bad> {
        at_most("errors", self.errors, self.iterations, "iterations")?;
        share("error_rate", self.error_rate)?;
        share("dropped_rate", self.dropped_rate)?;
        rate("throughput", self.throughput)?;
        self.latency.check("latency")?;
        if let Some(s) = &self.service {
            s.check("service")?;
        }
        if let Some(s) = &self.start_delay {
            s.check("start_delay")?;
        }
        if let Some(c) = &self.capacity {
            c.check_figures()?;
        }
        for (i, p) in self.phases.iter().enumerate() {
            let f = |name: &str| format!("phases[{i}].{name}");
            share(&f("error_rate"), p.error_rate)?;
            rate(&f("throughput"), p.throughput)?;
            at_most(&f("errors"), p.errors, p.iterations, "iterations")?;
            if p.start_s > p.end_s {
                return Err(bad(
                    f("start_s"),
                    format!("is {}, after end_s {}", p.start_s, p.end_s),
                ));
            }
        }
        let grouped = self
            .error_counts
            .iter()
            .fold(0u64, |a, e| a.saturating_add(e.count));
        at_most("error_counts", grouped, self.errors, "errors")?;
        for (tag, t) in &self.tags {
            share(&format!("tags.{tag}.error_rate"), t.error_rate)?;
            at_most(
                &format!("tags.{tag}.errors"),
                t.errors,
                t.iterations,
                "iterations",
            )?;
            t.latency.check(&format!("tags.{tag}.latency"))?;
        }
        for (name, c) in &self.custom {
            c.check(&format!("custom.{name}"))?;
        }
        if let Some(m) = &self.memory {
            within(
                "memory.allocs_per_iter",
                m.allocs_per_iter,
                0.0,
                f64::MAX,
                "a count",
            )?;
            within(
                "memory.bytes_per_iter",
                m.bytes_per_iter,
                0.0,
                f64::MAX,
                "a size",
            )?;
            finite("memory.leak.bytes_per_iter", m.leak.bytes_per_iter)?;
            within(
                "memory.leak.r_squared",
                m.leak.r_squared,
                0.0,
                1.0,
                "a coefficient of determination",
            )?;
        }
        for (i, p) in self.timeline.iter().enumerate() {
            if let Some(c) = p.cpu_cores {
                within(
                    &format!("timeline[{i}].cpu_cores"),
                    c,
                    0.0,
                    MAX_CORES,
                    "cores in use",
                )?;
            }
        }
        if let Some(r) = &self.resources {
            r.check_figures("resources")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
