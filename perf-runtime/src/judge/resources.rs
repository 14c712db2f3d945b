//! Resource thresholds judged: `cpu` and `peak_rss` of the test process or
//! of a monitored one, over the run, and `cpu … per "10s"` over every
//! window of consecutive per-second samples. Exact figures (sampled, not
//! estimated): no interval, the value decides.

use perf_spec::{Metric, ThresholdSpec};

use crate::judge::figures::Figures;
use crate::model::resources::{Resources, MIN_CPU_WINDOW_S};
use crate::model::threshold::WindowVerdict;

/// The figure of a resource metric, if it was sampled.
pub(crate) fn observe(metric: Metric, f: &Figures<'_>) -> Option<f64> {
    let r = f.resources?;
    let cpu_known = r.window_s >= MIN_CPU_WINDOW_S;
    match metric {
        Metric::Cpu(None) => cpu_known.then_some(r.cpu_avg),
        Metric::PeakRss(None) => Some(r.rss_peak_bytes as f64),
        Metric::Cpu(Some(name)) => cpu_known.then(|| found(r, name).map(|p| p.cpu_avg))?,
        Metric::PeakRss(Some(name)) => found(r, name).map(|p| p.rss_peak_bytes as f64),
        _ => None,
    }
}

fn found<'r>(
    r: &'r Resources,
    name: &str,
) -> Option<&'r crate::model::resources::ProcessResources> {
    r.processes
        .iter()
        .find(|p| p.name == name && p.processes_max > 0)
}

/// Why a resource metric has no figure, for the verdict line.
pub(crate) fn missing(metric: Metric, f: &Figures<'_>) -> String {
    let Some(r) = f.resources else {
        return "not sampled (no /proc here, or a merged run of shards: each shard's own report has it)"
            .to_owned();
    };
    if let Some(name) = metric.process() {
        return match r.processes.iter().find(|p| p.name == name) {
            None => {
                let monitored: Vec<&str> = r.processes.iter().map(|p| p.name.as_str()).collect();
                format!(
                    "no monitored process is named {name:?} (monitored: {}); add `monitor = \"name:{name}\"`",
                    if monitored.is_empty() {
                        "none".to_owned()
                    } else {
                        monitored.join(", ")
                    }
                )
            }
            Some(p) if p.processes_max == 0 => {
                format!("no process of {} ran during the run", p.monitor)
            }
            Some(_) => "not measured: the run was under 1 s (CPU is counted in 10 ms ticks)".into(),
        };
    }
    "not measured: the run was under 1 s (CPU is counted in 10 ms ticks)".into()
}

/// A CPU share for people: `43%` (with as many decimals as it takes not
/// to read as the limit), and the cores it amounts to.
pub(crate) fn display(metric: Metric, v: f64, limit: f64, f: &Figures<'_>) -> String {
    let pct = |x: f64, d: usize| format!("{:.d$}%", x * 100.0);
    let mut digits = 0;
    while digits < 4 && v != limit && pct(v, digits) == pct(limit, digits) {
        digits += 1;
    }
    let cores = f.resources.map_or(0.0, |r| r.cores);
    match metric {
        Metric::Cpu(_) if cores > 0.0 => {
            format!("{} ({:.2} of {cores} cores)", pct(v, digits), v * cores)
        }
        _ => pct(v, digits),
    }
}

/// `(seconds covered, CPU seconds)` of each `(end in s, cores)` sample,
/// the first covering the time since the phase's start.
fn intervals(samples: impl Iterator<Item = (f64, f64)>) -> Vec<(f64, f64)> {
    let mut before = 0.0;
    samples
        .map(|(at_s, cores)| {
            let dt = at_s - before;
            before = at_s;
            (dt, cores * dt)
        })
        .collect()
}

/// `cpu … per "Ns"`: every window of `w` consecutive per-second samples,
/// the worst with its text.
pub(crate) fn cpu_windows(
    spec: &ThresholdSpec,
    w: u32,
    f: &Figures<'_>,
) -> (WindowVerdict, Option<(f64, String)>) {
    let mut verdict = WindowVerdict::new(w);
    let Some(r) = f.resources else {
        return (verdict, None);
    };
    // (seconds covered, CPU seconds) per sample.
    let series: Vec<(f64, f64)> = match spec.metric.process() {
        None => intervals(r.samples.iter().map(|s| (s.at_s, s.cpu_cores))),
        Some(name) => found(r, name).map_or_else(Vec::new, |p| {
            intervals(p.samples.iter().map(|s| (s.at_s, s.cpu_cores)))
        }),
    };
    let w_us = w as usize;
    let mut worst: Option<(f64, String)> = None;
    if r.cores > 0.0 && series.len() >= w_us {
        for (start, window) in series.windows(w_us).enumerate() {
            let (secs, cpu): (f64, f64) = window
                .iter()
                .fold((0.0, 0.0), |(a, b), (dt, c)| (a + dt, b + c));
            if secs <= 0.0 {
                continue;
            }
            let v = cpu / secs / r.cores;
            let start = start as u32;
            verdict.checked += 1;
            if !spec.op.holds(v, spec.limit) {
                verdict.broken += 1;
                verdict.first_broken_start.get_or_insert(start);
            }
            if worst.as_ref().is_none_or(|(best, _)| v > *best) {
                worst = Some((v, display(spec.metric, v, spec.limit, f)));
                verdict.worst_start = Some(start);
            }
        }
    }
    (verdict, worst)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use crate::model::resources::{ProcessResources, ProcessSample, ResourceSample};
    use crate::model::threshold::Threshold;
    use crate::model::timeline::Timeline;

    use super::*;

    /// 10 s on 2 cores: the generator at 0.4 cores but 1.9 cores in
    /// seconds 6-8; `orders-fn` at 0.5 cores with 300 MB; `idle-fn` never
    /// ran.
    fn resources() -> Resources {
        let cpu = |s: usize| if (6..8).contains(&s) { 1.9 } else { 0.4 };
        let samples: Vec<ResourceSample> = (0..10)
            .map(|s| ResourceSample {
                at_s: s as f64 + 1.0,
                cpu_cores: cpu(s),
                rss_bytes: 100 << 20,
                threads: 4,
                net_sent_bytes: 0,
                net_recv_bytes: 0,
            })
            .collect();
        let cpu_seconds: f64 = (0..10).map(cpu).sum();
        let process = |name: &str, n: u64| ProcessResources {
            name: name.into(),
            monitor: format!("name:{name}"),
            cpu_seconds: 5.0,
            cpu_avg: 0.25,
            cpu_max: 0.25,
            rss_peak_bytes: 300_000_000,
            processes_max: n,
            samples: (1..=10)
                .map(|s| ProcessSample {
                    at_s: f64::from(s),
                    cpu_cores: 0.5,
                    rss_bytes: 300_000_000,
                })
                .collect(),
        };
        Resources {
            cores: 2.0,
            window_s: 10.0,
            cpu_seconds,
            cpu_user_seconds: cpu_seconds,
            cpu_avg: cpu_seconds / 10.0 / 2.0,
            cpu_max: 0.95,
            rss_peak_bytes: 100 << 20,
            rss_held_before_bytes: 0,
            threads_max: 4,
            voluntary_switches: 0,
            involuntary_switches: 0,
            net: None,
            saturated_s: 2.0,
            samples,
            processes: vec![process("orders-fn", 2), process("idle-fn", 0)],
        }
    }

    fn judged(t: Threshold, r: Option<&Resources>) -> crate::model::threshold::ThresholdOutcome {
        let f = Figures {
            resources: r,
            ..Figures::empty()
        };
        t.evaluate(&f, &Timeline::default(), 10)
    }

    #[test]
    fn cpu_and_rss_of_the_generator_and_of_a_monitored_process() {
        let r = resources();
        // The generator: (8 × 0.4 + 2 × 1.9) / 10 / 2 = 35%.
        let o = judged(Threshold::cpu().lt(0.8), Some(&r));
        assert!(o.passed, "{o:?}");
        assert_eq!(o.observed_display, "35% (0.70 of 2 cores)");
        let o = judged(Threshold::cpu().lt(0.3), Some(&r));
        assert!(!o.passed);
        // As many digits as it takes not to read as the limit.
        let o = judged(Threshold::cpu().lt(0.3504), Some(&r));
        assert!(
            o.observed_display.starts_with("35.00%"),
            "{}",
            o.observed_display
        );
        let o = judged(Threshold::cpu_of("orders-fn").lt(0.2), Some(&r));
        assert!(!o.passed && o.observed == Some(0.25), "{o:?}");
        assert!(judged(Threshold::peak_rss().lt(200_000_000), Some(&r)).passed);
        let o = judged(
            Threshold::peak_rss_of("orders-fn").lt(256_000_000),
            Some(&r),
        );
        assert!(!o.passed && o.observed == Some(300e6), "{o:?}");
    }

    #[test]
    fn a_window_breaks_where_the_cpu_was_high_only() {
        let r = resources();
        let per = |limit: f64, w: u64| {
            let mut spec = Threshold::cpu().lt(limit).0;
            spec.window = Some(Duration::from_secs(w));
            Threshold::from_spec(spec)
        };
        // 3 s windows: the two holding both busy seconds (6 and 7) read
        // (2 × 1.9 + 0.4) / 3 s / 2 cores = 70%; the ones holding one, 45%.
        let o = judged(per(0.5, 3), Some(&r));
        let w = o.windows.as_ref().unwrap();
        assert_eq!((w.checked, w.broken), (8, 2), "{o:?}");
        assert_eq!(w.first_broken_start, Some(5));
        assert!(!o.passed);
        assert!(
            o.observed_display
                .starts_with("worst 70% (1.40 of 2 cores) in "),
            "{}",
            o.observed_display
        );
        assert!(judged(per(0.8, 3), Some(&r)).passed);
        // Longer than the run: said so, and not passed.
        let o = judged(per(0.8, 20), Some(&r));
        assert!(!o.passed && o.observed_display.contains("no full 20s window"));
    }

    #[test]
    fn a_missing_figure_fails_and_says_why() {
        let r = resources();
        let o = judged(Threshold::cpu_of("payments-fn").lt(0.5), Some(&r));
        assert!(!o.passed);
        assert!(
            o.observed_display.contains(
                "no monitored process is named \"payments-fn\" (monitored: orders-fn, idle-fn)"
            ),
            "{}",
            o.observed_display
        );
        let o = judged(Threshold::peak_rss_of("idle-fn").lt(1_000), Some(&r));
        assert!(
            !o.passed
                && o.observed_display
                    .contains("no process of name:idle-fn ran")
        );
        let short = Resources {
            window_s: 0.5,
            ..resources()
        };
        let o = judged(Threshold::cpu().lt(0.5), Some(&short));
        assert!(!o.passed && o.observed_display.contains("under 1 s"));
        let o = judged(Threshold::peak_rss().lt(1_000), None);
        assert!(!o.passed && o.observed_display.starts_with("not sampled"));
    }
}
