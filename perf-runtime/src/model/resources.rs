//! What the test process used while it ran: CPU time (as a share of one
//! core and of the cores it may use), resident memory and its peak,
//! threads, context switches, and the network namespace's traffic,
//! sampled once per second on a thread of its own (see
//! `measure::resources`) and summarised over the measured phase.

use serde::{Deserialize, Serialize};

mod merge;

/// One second (or the last part of one) of the measured phase.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ResourceSample {
    /// Seconds since the measured phase started, at the sample's end.
    pub at_s: f64,
    /// CPU used in the interval, as a share of one core (1.0 = one core
    /// busy the whole interval; up to the number of cores).
    pub cpu_cores: f64,
    /// Resident set size at the sample, bytes.
    pub rss_bytes: u64,
    /// Threads of the process at the sample.
    pub threads: u64,
    /// Bytes the network namespace sent in the interval.
    pub net_sent_bytes: u64,
    /// Bytes the network namespace received in the interval.
    pub net_recv_bytes: u64,
}

/// The network namespace's traffic over the measured phase (every
/// interface of the namespace, loopback included: a test process has no
/// counters of its own).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct NetTraffic {
    /// Bytes sent.
    pub sent_bytes: u64,
    /// Bytes received.
    pub recv_bytes: u64,
    /// Packets sent.
    pub sent_packets: u64,
    /// Packets received.
    pub recv_packets: u64,
}

/// The share of the cores above which a second counts as saturated.
pub const SATURATED_SHARE: f64 = 0.9;

/// The shortest window whose CPU share is shown: the kernel counts CPU
/// time in ticks of 10 ms, so under a second the share is mostly rounding.
pub const MIN_CPU_WINDOW_S: f64 = 1.0;

/// The share of the run's seconds that, saturated, make the summary warn
/// that latencies include the generator's own queueing.
pub const SATURATED_RUN_SHARE: f64 = 0.1;

/// Resources the test process used during the measured phase.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Resources {
    /// Cores the process may use (its CPU affinity and cgroup quota).
    pub cores: f64,
    /// Seconds between the first and the last reading (the measured
    /// phase: a reading is marked at its start).
    #[serde(default)]
    pub window_s: f64,
    /// CPU time (user + system) used during the measured phase, seconds.
    pub cpu_seconds: f64,
    /// Of which in user mode.
    pub cpu_user_seconds: f64,
    /// Mean CPU as a share of the cores available (1.0 = all busy).
    pub cpu_avg: f64,
    /// The busiest sampled interval's CPU, as a share of the cores.
    pub cpu_max: f64,
    /// This run's peak resident set size, bytes: the largest RSS sampled,
    /// less [`rss_held_before_bytes`](Self::rss_held_before_bytes). What a
    /// process of its own running only this test would have peaked at,
    /// whatever ran before it in this one; `peak_rss` judges it.
    pub rss_peak_bytes: u64,
    /// What the process held at the run's start beyond its RSS at its
    /// first perf test: memory of earlier tests of this process (their
    /// leaks, caches, a backtrace's symbols), still resident after the
    /// allocator's free pages were given back. The process's own peak was
    /// `rss_peak_bytes + rss_held_before_bytes`.
    #[serde(default)]
    pub rss_held_before_bytes: u64,
    /// The most threads sampled.
    pub threads_max: u64,
    /// Voluntary context switches during the phase (the process waited).
    pub voluntary_switches: u64,
    /// Involuntary context switches (the scheduler took a core away).
    pub involuntary_switches: u64,
    /// Traffic of the network namespace, when readable.
    pub net: Option<NetTraffic>,
    /// Seconds in which the process used more than
    /// [`SATURATED_SHARE`] of its cores.
    pub saturated_s: f64,
    /// Per-second samples.
    pub samples: Vec<ResourceSample>,
    /// The monitored processes (`monitor`, and local Lambda functions),
    /// each under its name.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub processes: Vec<ProcessResources>,
}

/// A monitored process (or every process of one name) during the
/// measured phase.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProcessResources {
    /// The name it is shown and judged under (`cpu of "orders-fn"`): the
    /// name monitored, a local Lambda function's name, or a monitored
    /// pid's process name.
    pub name: String,
    /// What was asked for (`name:orders-fn`, `pid:1234`, `lambda`).
    pub monitor: String,
    /// CPU time its processes used in the phase, seconds.
    pub cpu_seconds: f64,
    /// Mean CPU as a share of this machine's cores (1.0 = all busy).
    pub cpu_avg: f64,
    /// The busiest sampled interval's CPU, as a share of the cores.
    pub cpu_max: f64,
    /// The largest resident set size sampled (of its processes together).
    pub rss_peak_bytes: u64,
    /// The most processes of it seen at once (0: never found).
    pub processes_max: u64,
    /// Per-second CPU (share of one core) and RSS.
    pub samples: Vec<ProcessSample>,
}

/// One second of a monitored process.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ProcessSample {
    /// Seconds since the measured phase started, at the sample's end.
    pub at_s: f64,
    /// CPU used in the interval, as a share of one core.
    pub cpu_cores: f64,
    /// Resident set size at the sample, bytes.
    pub rss_bytes: u64,
}

/// A monitored process's cumulative counters at one moment.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub(crate) struct ProcReading {
    /// Seconds since the measured phase started.
    pub(crate) at_s: f64,
    /// CPU seconds its processes used since sampling began.
    pub(crate) cpu_s: f64,
    pub(crate) rss_bytes: u64,
    /// How many processes it had.
    pub(crate) count: u64,
}

/// CPU seconds over a window as a share of `cores`, at most all of them:
/// the kernel counts CPU in 10 ms ticks, so a window of a millisecond (a
/// short run's) can read a whole tick, five times what the cores had.
fn cpu_share(cpu_seconds: f64, window_s: f64, cores: f64) -> f64 {
    if window_s > 0.0 {
        (cpu_seconds / window_s / cores).min(1.0)
    } else {
        0.0
    }
}

/// A monitored process's figures from its readings over the phase.
pub(crate) fn summarise_process(
    name: String,
    monitor: String,
    readings: &[ProcReading],
    cores: f64,
) -> Option<ProcessResources> {
    let (first, last) = (readings.first()?, readings.last()?);
    if readings.len() < 2 || !(cores.is_finite() && cores > 0.0) {
        return None;
    }
    let samples: Vec<ProcessSample> = readings
        .windows(2)
        .filter(|p| p[1].at_s > p[0].at_s)
        .map(|p| ProcessSample {
            at_s: p[1].at_s - first.at_s,
            cpu_cores: ((p[1].cpu_s - p[0].cpu_s) / (p[1].at_s - p[0].at_s)).clamp(0.0, cores),
            rss_bytes: p[1].rss_bytes,
        })
        .collect();
    let elapsed = last.at_s - first.at_s;
    let cpu_seconds = (last.cpu_s - first.cpu_s).max(0.0);
    Some(ProcessResources {
        name,
        monitor,
        cpu_seconds,
        cpu_avg: cpu_share(cpu_seconds, elapsed, cores),
        cpu_max: cpu_max(samples.iter().map(|s| (s.at_s, s.cpu_cores)), cores),
        rss_peak_bytes: readings.iter().map(|r| r.rss_bytes).max().unwrap_or(0),
        processes_max: readings.iter().map(|r| r.count).max().unwrap_or(0),
        samples,
    })
}

/// The busiest interval's CPU as a share of `cores`, over intervals of
/// about a second only: the kernel counts CPU in 10 ms ticks, so a short
/// interval (the phase's last part) reads a tick or two as a large share
/// (131% of 2 cores was shown for a sleeping body). Each `(at_s,
/// cpu_cores)` sample ends at `at_s`; a share above all the cores is a
/// tick's rounding and is cut to 1.
fn cpu_max(samples: impl Iterator<Item = (f64, f64)>, cores: f64) -> f64 {
    let mut last_at = 0.0;
    let mut max: f64 = 0.0;
    for (at, cpu_cores) in samples {
        if at - last_at >= 0.9 * MIN_CPU_WINDOW_S {
            max = max.max(cpu_cores);
        }
        last_at = at;
    }
    (max / cores).min(1.0)
}

impl Resources {
    /// Figures of a run of `window_s` seconds on `cores` cores that used
    /// `cpu_seconds`, the rest plain (for tests of code reading them).
    #[cfg(test)]
    pub(crate) fn for_tests(cores: f64, window_s: f64, cpu_seconds: f64) -> Resources {
        Resources {
            cores,
            window_s,
            cpu_seconds,
            cpu_user_seconds: cpu_seconds / 2.0,
            cpu_avg: 0.1,
            cpu_max: 0.2,
            rss_peak_bytes: 1,
            rss_held_before_bytes: 0,
            threads_max: 1,
            voluntary_switches: 0,
            involuntary_switches: 0,
            net: None,
            saturated_s: 0.0,
            samples: Vec::new(),
            processes: Vec::new(),
        }
    }

    /// Whether the load generator (this process) was saturated for more
    /// than [`SATURATED_RUN_SHARE`] of a run of `elapsed_s` seconds: its
    /// latencies then include its own queueing.
    pub fn generator_saturated(&self, elapsed_s: f64) -> bool {
        elapsed_s > 0.0
            && self.window_s >= MIN_CPU_WINDOW_S
            && self.saturated_s > SATURATED_RUN_SHARE * elapsed_s
    }
}

/// The share of a run's arrivals that, left unstarted because the
/// generator fell behind its schedule, make it saturated.
pub const UNSCHEDULED_SHARE: f64 = 0.01;

/// The open model's schedule as run, for [`Saturation::of`].
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Schedule {
    /// Arrivals the schedule held (started, dropped and unstarted).
    pub arrivals: u64,
    /// Arrivals never started because the dispatcher fell behind.
    pub unscheduled: u64,
    /// Arrivals that found no free worker.
    pub dropped: u64,
    /// The pool of workers.
    pub pool: u64,
    /// Workers running an iteration on average (completed iterations ×
    /// mean service time / run time: Little's law), if known.
    pub serving: Option<f64>,
}

/// The load generator (this process) could not keep up, so the latencies
/// include its own queueing. Any of:
/// - its CPU was over [`SATURATED_SHARE`] of its cores for more than
///   [`SATURATED_RUN_SHARE`] of the run;
/// - it left more than [`UNSCHEDULED_SHARE`] of an open model's arrivals
///   unstarted (the dispatcher fell behind the schedule);
/// - more than [`UNSCHEDULED_SHARE`] of the arrivals were dropped while on
///   average fewer than half of the pool's workers were running an
///   iteration (Little's law: the others held a job the runtime had not
///   started yet, so no worker was free although the system under test
///   was not keeping them busy).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Saturation {
    /// Seconds with the generator's CPU over [`SATURATED_SHARE`] of its
    /// cores (0 when not sampled).
    pub cpu_saturated_s: f64,
    /// Whether those seconds exceed [`SATURATED_RUN_SHARE`] of the run.
    pub cpu: bool,
    /// Open-model arrivals never started because the generator fell
    /// behind the schedule.
    pub unscheduled: u64,
    /// All arrivals the schedule held (started, dropped and unstarted).
    pub arrivals: u64,
    /// Arrivals dropped while the workers were starved of the runtime
    /// (0 unless that is the cause).
    #[serde(default)]
    pub starved_drops: u64,
    /// Workers running an iteration on average, of `pool`.
    #[serde(default)]
    pub serving: f64,
    /// The pool of workers.
    #[serde(default)]
    pub pool: u64,
}

impl Saturation {
    /// The saturation of a run of `elapsed_s` seconds, if there was any.
    pub fn of(resources: Option<&Resources>, s: Schedule, elapsed_s: f64) -> Option<Saturation> {
        let cpu = resources.is_some_and(|r| r.generator_saturated(elapsed_s));
        let over = |n: u64| s.arrivals > 0 && n as f64 > UNSCHEDULED_SHARE * s.arrivals as f64;
        let behind = over(s.unscheduled);
        let serving = s.serving.unwrap_or(f64::NAN);
        let starved = over(s.dropped) && s.pool > 0 && serving < 0.5 * s.pool as f64;
        (cpu || behind || starved).then(|| Saturation {
            cpu_saturated_s: resources.map_or(0.0, |r| r.saturated_s),
            cpu,
            unscheduled: s.unscheduled,
            arrivals: s.arrivals,
            starved_drops: if starved { s.dropped } else { 0 },
            serving: if serving.is_finite() { serving } else { 0.0 },
            pool: s.pool,
        })
    }
}

/// Cumulative counters of the process at one moment (what a sampler
/// reads); [`summarise`] turns a sequence of them into [`Resources`].
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub(crate) struct Reading {
    /// Seconds since the measured phase started.
    pub(crate) at_s: f64,
    pub(crate) cpu_user_s: f64,
    pub(crate) cpu_system_s: f64,
    pub(crate) rss_bytes: u64,
    pub(crate) threads: u64,
    pub(crate) voluntary: u64,
    pub(crate) involuntary: u64,
    pub(crate) net: Option<NetTraffic>,
}

/// The measured phase's figures from its readings (the first at its
/// start, the last at its end), or `None` with fewer than two.
/// What the RSS of a run's process held before the run: at the process's
/// first perf test, and at this test's start (before its setup, whose
/// memory is the test's own). See [`Resources::rss_held_before_bytes`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RssBase {
    pub(crate) process: u64,
    pub(crate) test: u64,
}

impl RssBase {
    /// Nothing held before: the run's RSS is all its own.
    #[cfg(test)]
    pub(crate) const NONE: RssBase = RssBase {
        process: u64::MAX,
        test: u64::MAX,
    };
}

pub(crate) fn summarise(readings: &[Reading], cores: f64, base: RssBase) -> Option<Resources> {
    let (first, last) = (readings.first()?, readings.last()?);
    if readings.len() < 2 || !(cores.is_finite() && cores > 0.0) {
        return None;
    }
    let cpu = |r: &Reading| r.cpu_user_s + r.cpu_system_s;
    let mut samples = Vec::with_capacity(readings.len() - 1);
    let mut saturated_s = 0.0;
    for pair in readings.windows(2) {
        let (a, b) = (&pair[0], &pair[1]);
        let dt = b.at_s - a.at_s;
        if dt.is_nan() || dt <= 0.0 {
            continue;
        }
        let cpu_cores = ((cpu(b) - cpu(a)) / dt).clamp(0.0, cores);
        if cpu_cores > SATURATED_SHARE * cores {
            saturated_s += dt;
        }
        let net = |f: fn(&NetTraffic) -> u64| match (a.net, b.net) {
            (Some(x), Some(y)) => f(&y).saturating_sub(f(&x)),
            _ => 0,
        };
        samples.push(ResourceSample {
            at_s: b.at_s - first.at_s,
            cpu_cores,
            rss_bytes: b.rss_bytes,
            threads: b.threads,
            net_sent_bytes: net(|n| n.sent_bytes),
            net_recv_bytes: net(|n| n.recv_bytes),
        });
    }
    let elapsed = last.at_s - first.at_s;
    let cpu_seconds = (cpu(last) - cpu(first)).max(0.0);
    let held_before = first.rss_bytes.min(base.test).saturating_sub(base.process);
    let net = match (first.net, last.net) {
        (Some(a), Some(b)) => Some(NetTraffic {
            sent_bytes: b.sent_bytes.saturating_sub(a.sent_bytes),
            recv_bytes: b.recv_bytes.saturating_sub(a.recv_bytes),
            sent_packets: b.sent_packets.saturating_sub(a.sent_packets),
            recv_packets: b.recv_packets.saturating_sub(a.recv_packets),
        }),
        _ => None,
    };
    Some(Resources {
        cores,
        window_s: elapsed,
        cpu_seconds,
        cpu_user_seconds: (last.cpu_user_s - first.cpu_user_s).max(0.0),
        cpu_avg: cpu_share(cpu_seconds, elapsed, cores),
        cpu_max: cpu_max(samples.iter().map(|s| (s.at_s, s.cpu_cores)), cores),
        rss_peak_bytes: readings
            .iter()
            .map(|r| r.rss_bytes)
            .max()
            .unwrap_or(0)
            .saturating_sub(held_before),
        rss_held_before_bytes: held_before,
        threads_max: readings.iter().map(|r| r.threads).max().unwrap_or(0),
        voluntary_switches: last.voluntary.saturating_sub(first.voluntary),
        involuntary_switches: last.involuntary.saturating_sub(first.involuntary),
        net,
        saturated_s,
        samples,
        processes: Vec::new(),
    })
}

#[cfg(test)]
mod tests;
