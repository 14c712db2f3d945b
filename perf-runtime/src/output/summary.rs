//! The end-of-test summary: one line per figure, a ✓/✗ per threshold with
//! the observed value beside the limit (k6's end-of-test summary is the
//! model).

use std::fmt::Write;
use std::time::Duration;

use perf_spec::format_duration;

use crate::model::measured::ErrorKind;
use crate::model::report::{LatencyStats, Report};
use crate::output::comparison::baseline_section;
use crate::output::load_line::load_line;
use crate::output::verdicts::{auto_line, interval_text, leak_text};

pub(crate) use perf_spec::format_rate as rate;

pub(crate) fn d(ns: u64) -> String {
    format_duration(Duration::from_nanos(ns))
}

/// A `label.....: value` line, labels padded to one width.
fn line(out: &mut String, label: &str, value: impl std::fmt::Display) {
    let _ = writeln!(out, "  {label:.<18}: {value}");
}

fn latency_line(lat: &LatencyStats) -> String {
    let mut s = format!(
        "min {}  mean {} ±{}",
        d(lat.min_ns),
        d(lat.mean_ns.round() as u64),
        d(lat.stddev_ns.round() as u64)
    );
    for p in &lat.percentiles {
        let _ = write!(s, "  p{} {}", p.percentile, d(p.value_ns));
    }
    let _ = write!(s, "  max {}", d(lat.max_ns));
    s
}

pub(crate) fn render(r: &Report) -> String {
    let mut out = String::new();
    if let Some(skipped) = &r.skipped {
        return skipped.clone();
    }
    let verdict = match r.shard {
        Some(shard) if r.passed => format!("· shard {shard} (judged after the merge)"),
        Some(shard) => format!("✗ shard {shard} FAILED"),
        None if r.passed => "✓ passed".to_owned(),
        None if r.expected_to_fail => "✗ failed, as #[should_panic] expects".to_owned(),
        None => "✗ FAILED".to_owned(),
    };
    let _ = writeln!(out, "perf test {}  {verdict}", r.name);
    line(&mut out, "load", load_line(&r.load));
    line(
        &mut out,
        "iterations",
        format!(
            "{} in {}  {}",
            r.iterations,
            d(r.elapsed_ns),
            rate(r.throughput)
        ),
    );
    let mut errors = format!("{} ({:.2}%)", r.errors, r.error_rate * 100.0);
    if r.timeouts + r.panics > 0 {
        let _ = write!(
            errors,
            "  of which {} timeouts, {} panics",
            r.timeouts, r.panics
        );
    }
    // Classes beyond the built-in ones say more than the count alone.
    let named: Vec<String> = r
        .error_classes
        .iter()
        .filter(|(class, n)| match class.as_str() {
            "error" => false,
            // Shown when iterations also classed themselves so.
            "timeout" => **n != r.timeouts,
            "panic" => **n != r.panics,
            _ => true,
        })
        .map(|(class, n)| format!("{class} {n}"))
        .collect();
    if !named.is_empty() {
        let _ = write!(errors, "  by class: {}", named.join(", "));
    }
    line(&mut out, "errors", errors);
    if r.load.rate.is_some() {
        line(
            &mut out,
            "dropped",
            format!(
                "{} ({:.2}% of scheduled): no free worker at their scheduled start",
                r.dropped,
                r.dropped_rate * 100.0
            ),
        );
    }
    if r.latency.count > 0 {
        let label = if r.service.is_some() {
            "latency (sched.)"
        } else {
            "latency"
        };
        line(&mut out, label, latency_line(&r.latency));
    }
    if let Some(service) = r.service.as_ref().filter(|s| s.count > 0) {
        line(&mut out, "service time", latency_line(service));
    }
    if let Some(c) = &r.capacity {
        let (verdict, rows) = crate::output::capacity::lines(c);
        line(&mut out, "capacity", verdict);
        for row in rows {
            let _ = writeln!(out, "    {row}");
        }
    }
    if !r.phases.is_empty() {
        line(
            &mut out,
            "phases",
            format!("{} named in the stages", r.phases.len()),
        );
        for row in crate::output::phases::rows(&r.phases) {
            let _ = writeln!(out, "    {row}");
        }
    }
    if let Some(delay) = r.start_delay.as_ref().filter(|s| s.count > 0) {
        line(&mut out, "start delay", latency_line(delay));
    }
    if let Some(b) = &r.batching {
        line(
            &mut out,
            "samples",
            format!(
                "{} of {} iterations timed in batches of up to {} per clock pair (a clock read costs {:.0} ns here); percentiles are of batch means",
                b.batched_iterations, r.iterations, b.iterations_per_sample, b.clock_ns
            ),
        );
    }
    match &r.resources {
        Some(res) => {
            line(&mut out, "resources", crate::output::resources::line(res));
            for p in &res.processes {
                let label = format!("  {}", crate::output::resources::short(&p.name, 14));
                line(
                    &mut out,
                    &label,
                    crate::output::resources::process_line(p, res),
                );
            }
        }
        None if !cfg!(target_os = "linux") => line(&mut out, "resources", "not available here"),
        None => {}
    }
    if let Some(p) = &r.cpu_profile {
        let (head, top) = crate::output::profile::lines(p);
        line(&mut out, "cpu profile", head);
        for t in top {
            let _ = writeln!(out, "    {t}");
        }
    }
    for (tag, t) in &r.tags {
        line(
            &mut out,
            &format!("tag {tag}"),
            format!(
                "{} iterations, {} errors  {}",
                t.iterations,
                t.errors,
                latency_line(&t.latency)
            ),
        );
    }
    if let Some(all) = r.custom.get(perf_spec::CHECKS_METRIC) {
        check_lines(&mut out, r, all);
    }
    for (name, c) in &r.custom {
        if is_check(name) {
            continue;
        }
        let value = |v: f64| {
            if c.kind == "duration" {
                d(v.max(0.0).round() as u64)
            } else {
                format!("{v:.3}")
                    .trim_end_matches('0')
                    .trim_end_matches('.')
                    .to_owned()
            }
        };
        let mut text = format!(
            "{} {}  count {}  sum {}  min {}  mean {}  max {}",
            c.kind,
            name,
            c.count,
            value(c.sum),
            value(c.min),
            value(c.mean),
            value(c.max)
        );
        for p in &c.percentiles {
            let _ = write!(text, "  p{} {}", p.percentile, d(p.value_ns));
        }
        line(&mut out, "custom", text);
    }
    if let Some(m) = &r.memory {
        let leak = leak_text(&m.leak);
        line(
            &mut out,
            "memory",
            format!(
                "{:.2} allocs/iter  {}/iter  peak {}  live at end {}  {leak}",
                m.allocs_per_iter,
                perf_spec::format_size(m.bytes_per_iter),
                perf_spec::format_size(m.peak_live_bytes as f64),
                perf_spec::format_size(m.live_bytes_at_end as f64),
            ),
        );
    }
    if let Some(p) = &r.heap_profile {
        let (head, sites) = crate::output::profile::heap_lines(p, r.memory.as_ref());
        line(&mut out, "heap profile", head);
        for s in sites {
            let _ = writeln!(out, "    {s}");
        }
    }
    if r.saturated > 0 {
        line(
            &mut out,
            "saturated",
            format!("{} latencies over 1h recorded as 1h", r.saturated),
        );
    }
    if let Some(w) = &r.warmup {
        line(
            &mut out,
            "warm-up",
            format!(
                "{} iterations, {} errors (not recorded)",
                w.iterations, w.errors
            ),
        );
    }
    if !r.thresholds.is_empty() {
        if r.shard.is_some() {
            let _ = writeln!(
                out,
                "  thresholds (this shard alone; judged on the merged result):"
            );
        } else {
            let _ = writeln!(out, "  thresholds:");
        }
        let label = |t: &crate::ThresholdOutcome| {
            if t.default {
                format!("{} (default) ", t.threshold)
            } else {
                format!("{} ", t.threshold)
            }
        };
        let width = r
            .thresholds
            .iter()
            .map(|t| label(t).chars().count())
            .max()
            .unwrap_or(0)
            + 2;
        for t in &r.thresholds {
            let mark = match (r.shard, t.passed) {
                (Some(_), _) => "·",
                (None, true) => "✓",
                (None, false) => "✗",
            };
            let _ = writeln!(
                out,
                "    {mark} {:.<width$} {}{}",
                label(t),
                t.observed_display,
                // (An implicit threshold has no decision: its count decides.)
                interval_text(t, r.judged_at())
            );
        }
        if let Some(auto) = &r.auto {
            let _ = writeln!(out, "    {}", auto_line(auto, r.judging.confidence));
        }
    }
    if let Some(b) = &r.baseline {
        baseline_section(&mut out, b);
    }
    if let Some(reason) = &r.aborted {
        let _ = writeln!(out, "  ✗ {reason}");
    }
    if let Some(w) = crate::output::resources::saturation(r) {
        let _ = writeln!(out, "  ! {w}");
    }
    if let Some(o) = &r.overlapped {
        let _ = writeln!(out, "  ! {o}");
    }
    if let Some(ns) = r.waited_ns {
        let _ = writeln!(
            out,
            "  waited {} for other perf tests to finish first (perf tests take turns; `exclusive = false` opts out)",
            format_duration(Duration::from_nanos(ns))
        );
    }
    if r.timed_out {
        let limit = r.load.timeout.map(format_duration).unwrap_or_default();
        let _ = writeln!(
            out,
            "  ✗ timed out after {limit}: the figures above are what was measured until then"
        );
    }
    if r.interrupted {
        let _ = writeln!(
            out,
            "  ✗ interrupted (SIGINT/SIGTERM) after {}: the figures above are what was measured until then",
            format_duration(r.elapsed())
        );
    }
    if let Some(line) = still_running(r) {
        let _ = writeln!(out, "    {line}");
    }
    if r.unscheduled > 0 && r.saturation.is_none() {
        let _ = writeln!(
            out,
            "  ⚠ the load generator could not schedule this rate: {} arrivals were never started \
             (it fell behind; not a lack of free workers): use shards, or a release build",
            r.unscheduled
        );
    }
    if !r.error_counts.is_empty() {
        let _ = writeln!(out, "  errors by message:");
        for c in r.error_counts.iter().take(5) {
            let _ = writeln!(out, "    {}", error_group(c));
        }
        if r.error_counts.len() > 5 {
            let _ = writeln!(
                out,
                "    … and {} more distinct messages (see the JSON report)",
                r.error_counts.len() - 5
            );
        }
        let _ = writeln!(out, "  first errors:");
        for e in r.first_errors.iter().take(3) {
            let _ = writeln!(
                out,
                "    iteration {} (worker {}): {}: {}{}",
                e.iteration,
                e.worker,
                kind(e.kind),
                truncate(&e.message),
                crate::measure::errors::root_cause(&e.message)
                    .map(|c| format!("  (cause: {c})"))
                    .unwrap_or_default()
            );
        }
    }
    for t in &r.thresholds {
        if let Some(why) = &t.sample_size {
            let _ = writeln!(out, "  note: `{}`: {why}", t.threshold);
        }
    }
    if r.debug_build {
        out.push_str(crate::model::report::DEBUG_BUILD_NOTE);
    }
    if let Some(p) = &r.path {
        let _ = writeln!(out, "  report: {}", p.display());
    }
    out.truncate(out.trim_end().len());
    out
}

fn kind(k: ErrorKind) -> &'static str {
    match k {
        ErrorKind::Error => "error",
        ErrorKind::Panic => "panic",
        ErrorKind::Timeout => "timeout",
    }
}

fn truncate(s: &str) -> String {
    let one_line = s.replace('\n', " ");
    if one_line.chars().count() > 160 {
        format!("{}…", one_line.chars().take(159).collect::<String>())
    } else {
        one_line
    }
}

/// What was still running when a run was stopped, in words.
fn still_running(r: &Report) -> Option<String> {
    let s = r
        .still_running
        .filter(|s| s.iterations > 0 || s.abandoned > 0)?;
    let mut line = format!(
        "{} iteration{} still running when it was stopped",
        s.iterations,
        if s.iterations == 1 { " was" } else { "s were" }
    );
    if s.abandoned > 0 {
        line.push_str(&format!(
            "; {} did not stop (a blocking call holds its thread) and {} abandoned, their threads left behind",
            s.abandoned,
            if s.abandoned == 1 { "was" } else { "were" }
        ));
    }
    Some(line)
}

/// One group of errors: how many, what kind, its message cut to a line,
/// and its cause in full.
fn error_group(c: &crate::ErrorCount) -> String {
    let cause = c
        .cause
        .as_ref()
        .map(|cause| format!("  (cause: {cause})"))
        .unwrap_or_default();
    format!(
        "{:>6} × {}: {}{cause}",
        c.count,
        kind(c.kind),
        truncate(&c.message)
    )
}

/// The panic message of a failed run: what failed, then the summary.
pub(crate) fn failure(r: &Report) -> String {
    let failed: Vec<_> = r.failed_thresholds().collect();
    let mut causes = Vec::new();
    if r.timed_out {
        causes.push(format!(
            "timed out after {}",
            r.load.timeout.map(format_duration).unwrap_or_default()
        ));
    }
    if r.interrupted {
        causes.push(format!(
            "interrupted by SIGINT/SIGTERM after {}",
            format_duration(r.elapsed())
        ));
    }
    if let Some(line) = still_running(r) {
        causes.push(line);
    }
    if let Some(reason) = &r.aborted {
        causes.push(reason.clone());
    }
    if !failed.is_empty() {
        causes.push(format!(
            "{} of {} thresholds broken:",
            failed.len(),
            r.thresholds.len()
        ));
    }
    let (gate_causes, gate_lines) = crate::output::comparison::gate_failure(r);
    causes.extend(gate_causes);
    if let Some(missing) = r.baseline.as_ref().and_then(|b| b.missing.as_ref()) {
        causes.push(missing.clone());
    }
    let mut out = format!("perf test `{}` failed: {}", r.name, causes.join("; "));
    for t in &failed {
        // "p95 < 5ms per 10s" → "< 5ms per 10s": the limit as written.
        let limit = t
            .threshold
            .strip_prefix(&t.metric)
            .unwrap_or(&t.threshold)
            .trim();
        let _ = write!(
            out,
            "\n  ✗ {}: observed {} (limit {limit})",
            t.metric, t.observed_display
        );
    }
    let errors_broke = failed.iter().any(|t| {
        t.metric == "error_rate" || (t.metric.ends_with("_rate") && t.metric != "dropped_rate")
    });
    if let Some(c) = r.error_counts.first().filter(|_| errors_broke) {
        let _ = write!(
            out,
            "\n  most frequent error: {}",
            error_group(c).trim_start()
        );
    }
    out.push_str(&gate_lines);
    if r.printed {
        // The summary went to stderr (or the harness's capture) already.
        let _ = write!(out, "\n  (figures in the summary above");
        if let Some(p) = &r.path {
            let _ = write!(out, "; report: {}", p.display());
        }
        out.push(')');
    } else {
        let _ = write!(out, "\n\n{}", render(r));
    }
    out
}

impl Report {
    /// The end-of-test summary, as printed.
    pub fn summary(&self) -> String {
        render(self)
    }

    /// Panics with the summary if a threshold broke or the run timed out.
    /// The message names each failed threshold's metric, observed value and
    /// limit.
    #[track_caller]
    pub fn assert_passed(&self) {
        if !self.passed {
            panic!("{}", failure(self));
        }
    }
}

/// Whether a custom metric holds checks' evaluations (shown as checks,
/// not as a custom metric).
fn is_check(name: &str) -> bool {
    name == perf_spec::CHECKS_METRIC || name.starts_with(perf_spec::CHECK_PREFIX)
}

/// k6's check lines: the share of all checks that passed, then each
/// check's (✓ all passed, ✗ some failed).
fn check_lines(out: &mut String, r: &Report, all: &crate::model::report::CustomStats) {
    let share = |c: &crate::model::report::CustomStats| {
        let passed = c.sum.round() as u64;
        let pct = if c.count == 0 {
            0.0
        } else {
            100.0 * passed as f64 / c.count as f64
        };
        (passed, c.count - passed.min(c.count), pct)
    };
    let (passed, failed, pct) = share(all);
    line(
        out,
        "checks",
        format!("{pct:.2}% passed  ✓ {passed}  ✗ {failed}"),
    );
    for (name, c) in &r.custom {
        let Some(check) = name.strip_prefix(perf_spec::CHECK_PREFIX) else {
            continue;
        };
        let (passed, failed, pct) = share(c);
        let mark = if failed == 0 { '✓' } else { '✗' };
        let _ = writeln!(
            out,
            "    {mark} {check}: {pct:.2}% ({passed} of {})",
            c.count
        );
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn rates_are_grouped() {
        assert_eq!(super::rate(12.345), "12.3/s");
        assert_eq!(super::rate(999.6), "1,000/s");
        assert_eq!(super::rate(1_296_755.0), "1,296,755/s");
        assert_eq!(super::rate(123_456.0), "123,456/s");
    }
}
