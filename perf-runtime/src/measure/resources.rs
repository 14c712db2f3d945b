//! Sampling the test process's resources: once per second on a thread of
//! its own (not one of the runtime's, so a saturated runtime still gets
//! sampled) and once at the end, through the `procfs` crate. Where
//! `/proc` cannot be read (another OS, a locked-down container) there are
//! no figures, and the summary says "not available".

use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime};

use crate::measure::scope::pause;
use crate::model::measured::Measured;
use crate::model::resources::{summarise, NetTraffic, Reading, Resources};

/// How often the sampler reads.
pub(crate) const INTERVAL: Duration = Duration::from_secs(1);

/// A reading with its wall-clock time (readings are aligned with the
/// measured phase, whose start is a `SystemTime`).
type Stamped = (SystemTime, Reading);

/// A running sampler; [`finish`](Self::finish) stops it.
pub(crate) struct Sampler {
    stop: mpsc::Sender<()>,
    thread: JoinHandle<Vec<Stamped>>,
}

impl Sampler {
    /// Starts sampling, or `None` where this process's counters cannot be
    /// read. (Its allocations are not the iterations'.)
    pub(crate) fn start() -> Option<Sampler> {
        let _paused = pause();
        read()?;
        let (stop, stopped) = mpsc::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("perf-resources".into())
            .spawn(move || {
                let mut readings = Vec::new();
                loop {
                    if let Some(r) = read() {
                        readings.push((SystemTime::now(), r));
                    }
                    match stopped.recv_timeout(INTERVAL) {
                        Err(mpsc::RecvTimeoutError::Timeout) => continue,
                        _ => return readings,
                    }
                }
            })
            .ok()?;
        Some(Sampler { stop, thread })
    }

    /// Stops sampling and summarises the measured phase, `elapsed` from
    /// `started_at`: from the last reading at or before its start (at most
    /// one interval early) to a reading taken now, at its end.
    pub(crate) fn finish(self, started_at: SystemTime, elapsed: Duration) -> Option<Resources> {
        let end = read().map(|r| (SystemTime::now(), r));
        let _ = self.stop.send(());
        let mut readings = self.thread.join().ok()?;
        readings.extend(end);
        let end_at = started_at + elapsed;
        let first = readings
            .iter()
            .rposition(|(at, _)| *at <= started_at)
            .unwrap_or(0);
        let window: Vec<Reading> = readings[first..]
            .iter()
            .filter(|(at, _)| *at <= end_at + INTERVAL)
            .map(|(at, r)| Reading {
                at_s: signed_secs(*at, started_at),
                ..*r
            })
            .collect();
        summarise(&window, cores())
    }
}

/// Stops `sampler` and gives the runs' first `Measured` the figures of
/// the whole measured time, from the first run's start to the last's end.
pub(crate) fn attach(sampler: Option<Sampler>, runs: &mut [Measured]) {
    let _paused = pause();
    let (Some(sampler), Some(first), Some(last)) = (sampler, runs.first(), runs.last()) else {
        return;
    };
    let start = first.started_at;
    let end = last.started_at + last.elapsed;
    let figures = sampler.finish(start, end.duration_since(start).unwrap_or(last.elapsed));
    runs[0].resources = figures;
}

/// `at − from` in seconds, negative when `at` is earlier.
fn signed_secs(at: SystemTime, from: SystemTime) -> f64 {
    match at.duration_since(from) {
        Ok(d) => d.as_secs_f64(),
        Err(e) => -e.duration().as_secs_f64(),
    }
}

/// Cores this process may use: its CPU affinity and cgroup quota (what
/// `std::thread::available_parallelism` reports).
pub(crate) fn cores() -> f64 {
    std::thread::available_parallelism().map_or(1.0, |n| n.get() as f64)
}

/// This process's counters now.
#[cfg(target_os = "linux")]
fn read() -> Option<Reading> {
    use procfs::process::Process;
    let me = Process::myself().ok()?;
    let stat = me.stat().ok()?;
    let status = me.status().ok()?;
    let ticks = procfs::ticks_per_second() as f64;
    let net = procfs::net::dev_status().ok().map(|devices| {
        devices
            .values()
            .fold(NetTraffic::default(), |t, d| NetTraffic {
                sent_bytes: t.sent_bytes.saturating_add(d.sent_bytes),
                recv_bytes: t.recv_bytes.saturating_add(d.recv_bytes),
                sent_packets: t.sent_packets.saturating_add(d.sent_packets),
                recv_packets: t.recv_packets.saturating_add(d.recv_packets),
            })
    });
    Some(Reading {
        at_s: 0.0,
        cpu_user_s: stat.utime as f64 / ticks,
        cpu_system_s: stat.stime as f64 / ticks,
        rss_bytes: status.vmrss.unwrap_or(0).saturating_mul(1024),
        threads: u64::try_from(stat.num_threads).unwrap_or(0),
        voluntary: status.voluntary_ctxt_switches.unwrap_or(0),
        involuntary: status.nonvoluntary_ctxt_switches.unwrap_or(0),
        net,
    })
}

#[cfg(not(target_os = "linux"))]
fn read() -> Option<Reading> {
    None
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    #[test]
    fn a_spinning_thread_shows_as_cpu_and_a_buffer_as_rss() {
        let sampler = Sampler::start().expect("/proc is readable on Linux");
        let started = SystemTime::now();
        let spin_until = std::time::Instant::now() + Duration::from_millis(1200);
        let mut x = 0u64;
        while std::time::Instant::now() < spin_until {
            x = std::hint::black_box(x.wrapping_add(1));
        }
        let held = vec![1u8; 64 << 20];
        std::hint::black_box(&held);
        let r = sampler.finish(started, started.elapsed().unwrap()).unwrap();
        // One thread spun for the whole window (other tests of this binary
        // may add to it, never take from it).
        assert!(r.cpu_seconds >= 1.0, "{r:?}");
        assert!(r.rss_peak_bytes >= 64 << 20, "{r:?}");
        assert!(r.threads_max >= 2, "this thread and the sampler's");
        assert!(r.cores >= 1.0);
    }
}
