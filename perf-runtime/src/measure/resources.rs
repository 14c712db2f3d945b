//! Sampling the test process's resources: once per second on a thread of
//! its own (not one of the runtime's, so a saturated runtime still gets
//! sampled) and once at the end, through the `procfs` crate. Where
//! `/proc` cannot be read (another OS, a locked-down container) there are
//! no figures, and the summary says "not available".
//!
//! The same thread samples the monitored processes (`monitor`, and the
//! local Lambda functions registered here by `aws::lambda`): each tick it
//! finds their processes (by pid, by name, or from the registry), adds
//! each one's CPU since the tick before (a process that started since
//! counts from zero; one that exited loses at most its last second) and
//! sums their RSS.

use std::collections::HashMap;
use std::sync::mpsc;
use std::sync::{Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime};

use perf_spec::Monitor;

use crate::measure::scope::pause;
use crate::model::measured::Measured;
use crate::model::resources::RssBase;
use crate::model::resources::{
    summarise, summarise_process, NetTraffic, ProcReading, Reading, Resources,
};

/// How often the sampler reads.
pub(crate) const INTERVAL: Duration = Duration::from_secs(1);

/// Local processes registered by name (a local Lambda function's
/// execution environments), monitored by every run while registered.
static LOCAL: Mutex<Vec<(String, Vec<u32>)>> = Mutex::new(Vec::new());

/// Registers (or replaces) the processes of `name`: every run samples them
/// beside its own until [`unregister_local`].
#[cfg(feature = "lambda")]
pub(crate) fn register_local(name: &str, pids: Vec<u32>) {
    let mut local = LOCAL.lock().unwrap_or_else(PoisonError::into_inner);
    local.retain(|(n, _)| n != name);
    local.push((name.to_owned(), pids));
}

/// Stops monitoring the processes of `name`.
#[cfg(feature = "lambda")]
pub(crate) fn unregister_local(name: &str) {
    LOCAL
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .retain(|(n, _)| n != name);
}

/// One tick: the time, this process's counters, and each watched
/// target's (by index into the targets).
struct Tick {
    at: SystemTime,
    own: Reading,
    others: Vec<(usize, ProcReading)>,
}

/// What the thread hands back: its ticks and the targets' names.
struct Sampled {
    ticks: Vec<Tick>,
    targets: Vec<Target>,
}

/// What the sampler thread is asked.
enum Ask {
    /// Read now, and say so: the measured phase starts.
    Mark(mpsc::SyncSender<()>),
    /// Take a last reading and stop.
    Stop,
}

/// A running sampler; [`finish`](Self::finish) stops it.
pub(crate) struct Sampler {
    ask: mpsc::Sender<Ask>,
    thread: JoinHandle<Sampled>,
}

/// Asks the sampler for a reading at the measured phase's start, so that
/// the figures cover the phase from its first moment instead of from the
/// last once-a-second reading before it (up to a second of warm-up).
#[derive(Clone)]
pub(crate) struct Marker(mpsc::Sender<Ask>);

impl Marker {
    /// A reading now: returns once the sampler thread has taken it (or
    /// after [`MARK_SLACK`] at most), so that nothing the phase does
    /// happens before its first reading (bytes sent in the first
    /// milliseconds were missing from the figures on a busy machine).
    pub(crate) fn mark(&self) {
        // Memory earlier tests freed, and the allocator kept, goes back to
        // the system first: the run's own allocations then show in its RSS
        // instead of reusing pages an earlier test's peak left resident.
        release_free_memory();
        let (done, taken) = mpsc::sync_channel(1);
        if self.0.send(Ask::Mark(done)).is_ok() {
            let _ = taken.recv_timeout(MARK_SLACK);
        }
    }
}

/// Returns the allocator's free pages to the system (glibc's
/// `malloc_trim`; elsewhere nothing).
fn release_free_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        extern "C" {
            fn malloc_trim(pad: usize) -> std::ffi::c_int;
        }
        // SAFETY: glibc's malloc_trim takes no pointer and may be called at
        // any time from any thread.
        unsafe {
            malloc_trim(0);
        }
    }
}

/// The process's RSS at its first perf test's start: what it holds of its
/// own (binary, runtime, allocator) before any perf test ran.
static PROCESS_BASE_RSS: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
/// The RSS at the start of the perf test going on (before its setup).
static TEST_START_RSS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(u64::MAX);

/// A perf test's turn begins: the allocator's free pages go back to the
/// system, and the RSS left is what earlier tests still hold, apart from
/// the process's own at its first test ([`RssBase`]).
pub(crate) fn test_starts() {
    let _paused = pause();
    release_free_memory();
    if let Some(r) = read() {
        PROCESS_BASE_RSS.get_or_init(|| r.rss_bytes);
        TEST_START_RSS.store(r.rss_bytes, std::sync::atomic::Ordering::Relaxed);
    }
}

/// How long the phase's start waits for its marked reading at most, and
/// how long after the start a reading still counts as the marked one (the
/// sampler thread wakes and reads /proc: well under a millisecond on an
/// idle machine, a few on a busy one).
const MARK_SLACK: Duration = Duration::from_millis(50);

impl Sampler {
    /// Starts sampling this process and `monitors` (and the registered
    /// local processes), or `None` where this process's counters cannot
    /// be read. (Its allocations are not the iterations'.)
    pub(crate) fn start(monitors: &[Monitor]) -> Option<Sampler> {
        let _paused = pause();
        read()?;
        let mut targets: Vec<Target> = monitors.iter().cloned().map(Target::new).collect();
        let (ask, asked) = mpsc::channel::<Ask>();
        let thread = std::thread::Builder::new()
            .name("perf-resources".into())
            .spawn(move || {
                let mut ticks = Vec::new();
                let mut tick = |targets: &mut Vec<Target>| {
                    if let Some(own) = read() {
                        let at = SystemTime::now();
                        let others = read_targets(targets);
                        ticks.push(Tick { at, own, others });
                    }
                };
                let mut taken: Option<mpsc::SyncSender<()>> = None;
                loop {
                    tick(&mut targets);
                    if let Some(done) = taken.take() {
                        let _ = done.send(());
                    }
                    match asked.recv_timeout(INTERVAL) {
                        Err(mpsc::RecvTimeoutError::Timeout) => continue,
                        Ok(Ask::Mark(done)) => taken = Some(done),
                        // Asked to stop: one last reading, at the end.
                        Ok(Ask::Stop) | Err(mpsc::RecvTimeoutError::Disconnected) => {
                            tick(&mut targets);
                            return Sampled { ticks, targets };
                        }
                    }
                }
            })
            .ok()?;
        Some(Sampler { ask, thread })
    }

    /// A handle that asks for a reading when the measured phase starts.
    pub(crate) fn marker(&self) -> Marker {
        Marker(self.ask.clone())
    }

    /// Stops sampling and summarises the measured phase, `elapsed` from
    /// `started_at`: from the reading marked at its start (or, unmarked,
    /// the last one before it: at most one interval early) to a reading
    /// taken at its end.
    pub(crate) fn finish(self, started_at: SystemTime, elapsed: Duration) -> Option<Resources> {
        let _ = self.ask.send(Ask::Stop);
        let Sampled { ticks, targets } = self.thread.join().ok()?;
        let end_at = started_at + elapsed;
        // Never the end's own reading, however short the phase.
        let before_end = ticks.len().saturating_sub(1);
        let first = ticks[..before_end]
            .iter()
            .rposition(|t| t.at <= started_at + MARK_SLACK)
            .unwrap_or(0);
        let window: Vec<&Tick> = ticks[first..]
            .iter()
            .filter(|t| t.at <= end_at + INTERVAL)
            .collect();
        let at_s = |t: &Tick| signed_secs(t.at, started_at);
        let own: Vec<Reading> = window
            .iter()
            .map(|t| Reading {
                at_s: at_s(t),
                ..t.own
            })
            .collect();
        let cores = cores();
        let first_rss = own.first().map_or(0, |r| r.rss_bytes);
        let base = RssBase {
            process: *PROCESS_BASE_RSS.get_or_init(|| first_rss),
            test: TEST_START_RSS.load(std::sync::atomic::Ordering::Relaxed),
        };
        let mut figures = summarise(&own, cores, base)?;
        for (i, target) in targets.into_iter().enumerate() {
            let readings: Vec<ProcReading> = window
                .iter()
                .filter_map(|t| {
                    let (_, r) = t.others.iter().find(|(j, _)| *j == i)?;
                    Some(ProcReading {
                        at_s: at_s(t),
                        ..*r
                    })
                })
                .collect();
            let (name, monitor) = (target.name(), target.monitor());
            figures.processes.extend(
                summarise_process(name.clone(), monitor.clone(), &readings, cores).or(
                    // Never seen in the phase: shown as not found.
                    Some(crate::model::resources::ProcessResources {
                        name,
                        monitor,
                        cpu_seconds: 0.0,
                        cpu_avg: 0.0,
                        cpu_max: 0.0,
                        rss_peak_bytes: 0,
                        processes_max: 0,
                        samples: Vec::new(),
                    }),
                ),
            );
        }
        Some(figures)
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

/// What the sampler watches besides its own process.
struct Target {
    what: What,
    /// A pid's process name, once read.
    label: Option<String>,
    /// CPU seconds its processes used since sampling began.
    cpu_s: f64,
    /// Each process's CPU seconds at the tick before.
    last: HashMap<u32, f64>,
    /// Whether it has been read once (the first reading is the baseline).
    seen: bool,
}

enum What {
    Asked(Monitor),
    /// A registered local function, by name.
    Local(String),
}

impl Target {
    fn new(m: Monitor) -> Target {
        Target::of(What::Asked(m))
    }

    fn of(what: What) -> Target {
        Target {
            what,
            label: None,
            cpu_s: 0.0,
            last: HashMap::new(),
            seen: false,
        }
    }

    fn name(&self) -> String {
        match &self.what {
            What::Asked(Monitor::Name(n)) | What::Local(n) => n.clone(),
            What::Asked(m @ Monitor::Pid(_)) => self.label.clone().unwrap_or_else(|| m.to_string()),
        }
    }

    fn monitor(&self) -> String {
        match &self.what {
            What::Asked(m) => m.to_string(),
            What::Local(_) => "lambda (local)".to_owned(),
        }
    }
}

/// The watched targets' readings now (adding targets for local processes
/// registered since the last tick).
fn read_targets(targets: &mut Vec<Target>) -> Vec<(usize, ProcReading)> {
    let local = LOCAL.lock().unwrap_or_else(PoisonError::into_inner).clone();
    for (name, _) in &local {
        if !targets
            .iter()
            .any(|t| matches!(&t.what, What::Local(n) if n == name))
        {
            targets.push(Target::of(What::Local(name.clone())));
        }
    }
    let wanted: Vec<&str> = targets
        .iter()
        .filter_map(|t| match &t.what {
            What::Asked(Monitor::Name(n)) => Some(n.as_str()),
            _ => None,
        })
        .collect();
    let by_name = if wanted.is_empty() {
        Vec::new()
    } else {
        named_processes(&wanted)
    };
    let mut out = Vec::with_capacity(targets.len());
    for (i, t) in targets.iter_mut().enumerate() {
        let pids: Vec<u32> = match &t.what {
            What::Asked(Monitor::Pid(p)) => vec![*p],
            What::Asked(Monitor::Name(n)) => by_name
                .iter()
                .filter(|(_, name)| name == n)
                .map(|(pid, _)| *pid)
                .collect(),
            What::Local(n) => local
                .iter()
                .find(|(name, _)| name == n)
                .map(|(_, pids)| pids.clone())
                .unwrap_or_default(),
        };
        let mut reading = ProcReading::default();
        let mut now = HashMap::with_capacity(pids.len());
        for pid in pids {
            let Some((cpu, rss, comm)) = read_pid(pid) else {
                continue;
            };
            if t.label.is_none() && matches!(t.what, What::Asked(Monitor::Pid(_))) {
                t.label = Some(comm);
            }
            // A process new since the tick before started since: all of
            // its CPU is new (on the first tick, it is the baseline).
            let before = t
                .last
                .get(&pid)
                .copied()
                .unwrap_or(if t.seen { 0.0 } else { cpu });
            t.cpu_s += (cpu - before).max(0.0);
            reading.rss_bytes = reading.rss_bytes.saturating_add(rss);
            reading.count += 1;
            now.insert(pid, cpu);
        }
        t.last = now;
        t.seen = true;
        reading.cpu_s = t.cpu_s;
        out.push((i, reading));
    }
    out
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

/// A process's CPU seconds, RSS bytes and name.
#[cfg(target_os = "linux")]
fn read_pid(pid: u32) -> Option<(f64, u64, String)> {
    let stat = procfs::process::Process::new(i32::try_from(pid).ok()?)
        .ok()?
        .stat()
        .ok()?;
    let cpu = (stat.utime + stat.stime) as f64 / procfs::ticks_per_second() as f64;
    let rss = stat.rss.saturating_mul(procfs::page_size());
    Some((cpu, rss, stat.comm))
}

/// The processes named one of `wanted`, with the name: the kernel's
/// `comm` (15 bytes), or for a longer name whose first 15 bytes match,
/// its executable's file name or its first argument's. Only `stat` is
/// read for every process.
#[cfg(target_os = "linux")]
fn named_processes(wanted: &[&str]) -> Vec<(u32, String)> {
    let Ok(all) = procfs::process::all_processes() else {
        return Vec::new();
    };
    let file_name = |p: &std::path::Path| p.file_name().map(|n| n.to_string_lossy().into_owned());
    all.filter_map(Result::ok)
        .filter_map(|p| {
            let pid = u32::try_from(p.pid).ok()?;
            let comm = p.stat().ok()?.comm;
            if let Some(name) = wanted.iter().find(|w| **w == comm) {
                return Some((pid, (*name).to_owned()));
            }
            let long = wanted
                .iter()
                .filter(|w| w.len() > comm.len() && comm.len() >= 15 && w.starts_with(&comm))
                .collect::<Vec<_>>();
            if long.is_empty() {
                return None;
            }
            let mut names: Vec<String> = p
                .exe()
                .ok()
                .as_deref()
                .and_then(file_name)
                .into_iter()
                .collect();
            if let Some(arg0) = p.cmdline().ok().and_then(|c| c.into_iter().next()) {
                names.extend(file_name(std::path::Path::new(&arg0)));
            }
            long.into_iter()
                .find(|w| names.iter().any(|n| n == **w))
                .map(|w| (pid, (*w).to_owned()))
        })
        .collect()
}

#[cfg(not(target_os = "linux"))]
fn read() -> Option<Reading> {
    None
}

#[cfg(not(target_os = "linux"))]
fn read_pid(_: u32) -> Option<(f64, u64, String)> {
    None
}

#[cfg(not(target_os = "linux"))]
fn named_processes(_: &[&str]) -> Vec<(u32, String)> {
    Vec::new()
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    #[test]
    fn a_spinning_thread_shows_as_cpu_and_a_buffer_as_rss() {
        let sampler = Sampler::start(&[]).expect("/proc is readable on Linux");
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
