//! How the process's resources read in the summary: one line of CPU,
//! memory and network, and a warning when the load generator itself was
//! saturated (its latencies then include its own queueing).

use perf_spec::format_size;

use crate::model::report::Report;
#[cfg(test)]
use crate::model::resources::Saturation;
use crate::model::resources::{ProcessResources, Resources, MIN_CPU_WINDOW_S, SATURATED_SHARE};

/// The summary's `resources` line.
pub(crate) fn line(r: &Resources) -> String {
    let cores = cores(r.cores);
    let cpu = if r.window_s < MIN_CPU_WINDOW_S {
        "cpu not measured (a run under 1 s: the kernel counts CPU in 10 ms ticks)".to_owned()
    } else {
        format!(
            "cpu {:.0}% avg, {:.0}% max of {cores} cores ({:.2} cores used)",
            r.cpu_avg * 100.0,
            r.cpu_max * 100.0,
            r.cpu_avg * r.cores,
        )
    };
    let mut text = format!("{cpu} · rss {} peak", format_size(r.rss_peak_bytes as f64));
    if r.rss_held_before_bytes >= 1 << 20 {
        // Which peak it is, when the process's own was another.
        text.push_str(&format!(
            " (this run's own; the process held {} more from earlier tests)",
            format_size(r.rss_held_before_bytes as f64)
        ));
    }
    text.push_str(&format!(" · {} threads", r.threads_max));
    if let Some(net) = &r.net {
        text.push_str(&format!(
            " · net {} out, {} in (of the network namespace)",
            format_size(net.sent_bytes as f64),
            format_size(net.recv_bytes as f64)
        ));
    }
    text
}

/// A monitored process's line, under the `resources` line.
pub(crate) fn process_line(p: &ProcessResources, r: &Resources) -> String {
    if p.processes_max == 0 {
        return format!("{}: no such process during the run", p.monitor);
    }
    let cpu = if r.window_s < MIN_CPU_WINDOW_S {
        "cpu not measured (a run under 1 s)".to_owned()
    } else {
        format!(
            "cpu {:.0}% avg, {:.0}% max of {} cores ({:.2} cores used)",
            p.cpu_avg * 100.0,
            p.cpu_max * 100.0,
            cores(r.cores),
            p.cpu_avg * r.cores,
        )
    };
    let count = if p.processes_max > 1 {
        format!(" · {} processes", p.processes_max)
    } else {
        String::new()
    };
    format!(
        "{cpu} · rss {} peak{count} ({})",
        format_size(p.rss_peak_bytes as f64),
        p.monitor
    )
}

/// `name` cut to `chars` characters with an ellipsis.
pub(crate) fn short(name: &str, chars: usize) -> String {
    if name.chars().count() <= chars {
        return name.to_owned();
    }
    let mut s: String = name.chars().take(chars - 1).collect();
    s.push('…');
    s
}

fn cores(n: f64) -> String {
    if n == n.round() {
        format!("{n:.0}")
    } else {
        format!("{n:.1}")
    }
}

/// The warning when the generator could not keep up: it used more than
/// 90% of its cores for more than a tenth of the run, or it left arrivals
/// of the schedule unstarted.
pub(crate) fn saturation(report: &Report) -> Option<String> {
    let s = report.saturation?;
    let elapsed = report.elapsed_ns as f64 / 1e9;
    let mut why = Vec::new();
    if s.cpu {
        let cores = report.resources.as_ref().map_or(0.0, |r| r.cores);
        why.push(format!(
            "for {:.0} s of {:.0} s (over {:.0}% of its {cores} cores)",
            s.cpu_saturated_s,
            elapsed,
            SATURATED_SHARE * 100.0,
        ));
    }
    if s.unscheduled > 0 {
        why.push(format!(
            "{} of {} arrivals ({:.1}%) were never started (it fell behind the schedule; not a lack of free workers)",
            s.unscheduled,
            s.arrivals,
            100.0 * s.unscheduled as f64 / s.arrivals.max(1) as f64
        ));
    }
    if s.starved_drops > 0 {
        why.push(format!(
            "{} of {} arrivals found no free worker while only {:.1} of its {} workers were running an iteration on average (Little's law): the others held iterations its runtime had not started",
            s.starved_drops, s.arrivals, s.serving, s.pool
        ));
    }
    let (lead, sep) = if s.cpu {
        (" ", " and ")
    } else {
        (": ", " and ")
    };
    Some(format!(
        "load generator saturated{lead}{}: latencies include its own queueing; use fewer workers, shards, or a release build",
        why.join(sep)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::resources::NetTraffic;

    fn resources(cpu_avg: f64, saturated_s: f64) -> Resources {
        Resources {
            cores: 2.0,
            window_s: 20.0,
            cpu_seconds: 0.0,
            cpu_user_seconds: 0.0,
            cpu_avg,
            cpu_max: 0.97,
            rss_peak_bytes: 38_000_000,
            rss_held_before_bytes: 0,
            threads_max: 5,
            voluntary_switches: 0,
            involuntary_switches: 0,
            net: Some(NetTraffic {
                sent_bytes: 12_100_000,
                recv_bytes: 30_400_000,
                ..NetTraffic::default()
            }),
            saturated_s,
            samples: Vec::new(),
            processes: Vec::new(),
        }
    }

    #[test]
    fn one_line_of_cpu_memory_and_network() {
        let text = line(&resources(0.43, 0.0));
        assert_eq!(
            text,
            "cpu 43% avg, 97% max of 2 cores (0.86 cores used) · rss 36.2 MiB peak · 5 threads · net 11.5 MiB out, 29 MiB in (of the network namespace)"
        );
        let short = Resources {
            window_s: 0.2,
            ..resources(0.43, 0.0)
        };
        assert!(
            line(&short).starts_with("cpu not measured (a run under 1 s"),
            "{}",
            line(&short)
        );
    }

    #[test]
    fn a_monitored_process_has_a_line_of_its_own() {
        let mut p = ProcessResources {
            name: "orders-fn".into(),
            monitor: "name:orders-fn".into(),
            cpu_seconds: 4.0,
            cpu_avg: 0.1,
            cpu_max: 0.4,
            rss_peak_bytes: 40 << 20,
            processes_max: 4,
            samples: Vec::new(),
        };
        assert_eq!(
            process_line(&p, &resources(0.43, 0.0)),
            "cpu 10% avg, 40% max of 2 cores (0.20 cores used) · rss 40 MiB peak · 4 processes (name:orders-fn)"
        );
        p.processes_max = 0;
        assert_eq!(
            process_line(&p, &resources(0.43, 0.0)),
            "name:orders-fn: no such process during the run"
        );
        assert_eq!(short("a-very-long-function-name", 8), "a-very-…");
    }

    #[test]
    fn the_generator_is_called_saturated_past_a_tenth_of_the_run() {
        let mut report = Report::skipped("t".into(), Default::default(), "x".into());
        report.elapsed_ns = 20_000_000_000;
        let mut judged = |res: Option<Resources>, unscheduled: u64| {
            let plan = crate::model::resources::Schedule {
                arrivals: 1000,
                unscheduled,
                ..Default::default()
            };
            report.saturation = Saturation::of(res.as_ref(), plan, 20.0);
            report.resources = res;
            saturation(&report)
        };
        let warning = judged(Some(resources(0.95, 14.0)), 0).unwrap();
        assert!(
            warning.starts_with(
                "load generator saturated for 14 s of 20 s (over 90% of its 2 cores): latencies"
            ),
            "{warning}"
        );
        assert!(
            judged(Some(resources(0.5, 1.5)), 0).is_none(),
            "1.5 s of 20 is under a tenth"
        );
        assert!(judged(None, 0).is_none());
        let behind = judged(Some(resources(0.5, 1.5)), 50).unwrap();
        assert!(
            behind.starts_with(
                "load generator saturated: 50 of 1000 arrivals (5.0%) were never started"
            ),
            "{behind}"
        );
        let both = judged(Some(resources(0.95, 14.0)), 50).unwrap();
        assert!(both.contains("cores) and 50 of 1000 arrivals"), "{both}");
    }
}
