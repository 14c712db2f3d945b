//! Resource figures against ground truth: CPU of a spinning and of a
//! sleeping body, the RSS of a buffer held for the run, bytes sent over
//! loopback, and the warning when the load generator itself is saturated.
//! Perf tests take turns, but only for their runs: what a test does
//! before and after (spawning busy children, building a buffer, reading
//! a report) would land in another's measured window. The CPU figures are
//! the whole process's (and the machine's cores are shared with the
//! children), so each test here holds [`serial`] from its first line to
//! its last (the margins allow for the runtime's own threads and the
//! sampler).

use std::time::{Duration, Instant};

use perf_runtime::prelude::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// One test of this file at a time, setup and assertions included. (A
/// test that panicked released it; the next one goes on.)
fn serial() -> std::sync::MutexGuard<'static, ()> {
    static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());
    SERIAL
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn quiet(name: &str) -> PerfTest {
    PerfTest::new(format!("resources::{name}"))
        .no_report_file()
        .quiet()
        .env_overrides(false)
}

#[test]
fn a_spinning_worker_uses_one_core_and_a_sleeping_one_almost_none() {
    let _serial = serial();
    let spin = quiet("spin")
        .workers(1)
        .duration(Duration::from_secs(2))
        .run(|_| async {
            let until = Instant::now() + Duration::from_millis(1);
            while Instant::now() < until {
                std::hint::spin_loop();
            }
        })
        .unwrap();
    let r = spin.resources.clone().expect("Linux: /proc is readable");
    let used = r.cpu_avg * r.cores;
    // One thread always runnable on a 2-core machine: one core, give or
    // take the runtime's idle thread, the sampler and a neighbour.
    assert!((0.85..=1.15).contains(&used), "{used:.2} cores: {r:?}");
    // Each whole second of the timeline has its own reading beside its
    // latencies (a second is 100 of the kernel's 10 ms ticks).
    for p in spin.timeline.iter().take(2) {
        let cores = p.cpu_cores.expect("a reading ends in every whole second");
        assert!(
            (0.7..=1.3).contains(&cores),
            "second {}: {cores:.2}",
            p.second
        );
        assert!(p.rss_bytes.is_some_and(|b| b > 0));
    }
    assert!(
        spin.summary().contains("resources.........: cpu "),
        "{}",
        spin.summary()
    );

    let sleep = quiet("sleep")
        .workers(1)
        .duration(Duration::from_secs(2))
        .run(|_| tokio::time::sleep(Duration::from_millis(10)))
        .unwrap();
    let r = sleep.resources.clone().unwrap();
    assert!(
        r.cpu_avg * r.cores < 0.05,
        "{:.3} cores: {r:?}",
        r.cpu_avg * r.cores
    );
    assert!(!r.generator_saturated(2.0));
    assert!(
        !sleep.summary().contains("saturated"),
        "{}",
        sleep.summary()
    );
}

/// This process's resident set size now, from /proc/self/status.
fn rss_now() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let kb: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap();
    kb * 1024
}

#[test]
fn a_buffer_held_for_the_run_shows_in_the_rss_peak() {
    let _serial = serial();
    const HELD: u64 = 200 << 20;
    // RSS is the process's: what other tests of this binary left (memory
    // their runs freed to the allocator but not to the system) is in it.
    // The run's own growth is its peak over the RSS just before its setup;
    // the buffer is one fresh mapping, so it adds its whole size.
    let before = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let seen = before.clone();
    let with = quiet("rss_200mib")
        .workers(1)
        .duration(Duration::from_millis(1500))
        // The setup runs in the test's turn, so no other run of this
        // binary adds to the RSS between this reading and the run.
        .setup(move || async move {
            seen.store(rss_now(), std::sync::atomic::Ordering::SeqCst);
            vec![1u8; HELD as usize]
        })
        .run(|_, held| async move {
            std::hint::black_box(held.len());
            tokio::time::sleep(Duration::from_millis(5)).await;
        })
        .unwrap()
        .resources
        .unwrap();
    let before = before.load(std::sync::atomic::Ordering::SeqCst);
    let extra = with.rss_peak_bytes.saturating_sub(before);
    // The buffer, plus the runtime's threads and the run's bookkeeping
    // (a few MiB): within 10%.
    assert!(
        extra.abs_diff(HELD) <= HELD / 10,
        "{} MiB over the RSS before the run",
        extra >> 20
    );
}

#[test]
fn bytes_sent_over_loopback_are_counted() {
    let _serial = serial();
    use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
    use std::sync::Arc;
    const CHUNK: usize = 1 << 20;
    let report = quiet("loopback")
        .workers(1)
        .repeat(100)
        .setup(|| async {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let port = listener.local_addr().unwrap().port();
            let received = Arc::new(AtomicU64::new(0));
            let counted = received.clone();
            tokio::spawn(async move {
                let (mut socket, _) = listener.accept().await.unwrap();
                let mut sink = vec![0u8; 64 << 10];
                while let Ok(n @ 1..) = socket.read(&mut sink).await {
                    counted.fetch_add(n as u64, Relaxed);
                }
            });
            let stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .unwrap();
            (tokio::sync::Mutex::new(stream), received, AtomicU64::new(0))
        })
        .run(|_, state| async move {
            let (stream, received, sent) = &*state;
            let chunk = vec![7u8; CHUNK];
            stream.lock().await.write_all(&chunk).await?;
            // `write_all` ends when the bytes are in the socket's buffer
            // (megabytes on loopback), not on the interface: the iteration
            // ends when the receiver has them, so that every byte crossed
            // the interface before the run's last reading.
            let total = sent.fetch_add(CHUNK as u64, Relaxed) + CHUNK as u64;
            while received.load(Relaxed) < total {
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
            Ok::<_, std::io::Error>(())
        })
        .unwrap();
    let net = report
        .resources
        .unwrap()
        .net
        .expect("/proc/net/dev is readable");
    assert!(net.sent_bytes >= 100 * CHUNK as u64, "{net:?}");
}

#[test]
fn an_open_model_rate_the_generator_cannot_reach_with_cpu_bound_bodies_is_called_saturated() {
    let _serial = serial();
    let report = quiet("unreachable_rate")
        .rate(200_000.0)
        .duration(Duration::from_secs(2))
        .workers(64)
        // CPU-bound bodies at a rate that would need 10 cores: every
        // runtime thread is always busy. (A no-op body at 2M/s read
        // 0.86-0.90 of the 2 cores on CI: its dispatcher waits, and the
        // 90% line is not crossed.)
        .run(|_| async {
            let until = Instant::now() + Duration::from_micros(50);
            while Instant::now() < until {
                std::hint::spin_loop();
            }
        })
        .unwrap();
    let r = report.resources.clone().unwrap();
    assert!(r.generator_saturated(2.0), "{r:?}");
    assert!(report.saturation.is_some_and(|s| s.cpu));
    let summary = report.summary();
    assert!(
        summary.contains("! load generator saturated for"),
        "{summary}"
    );
}

#[test]
fn a_no_op_body_at_a_rate_the_generator_cannot_reach_is_called_saturated() {
    let _serial = serial();
    // 5M arrivals/s of a body that does nothing: the system under test
    // cannot be what is slow. Whichever part of the generator gives out
    // first (its CPU, its dispatcher falling behind the schedule, or its
    // runtime leaving handed-out iterations unstarted so that no worker
    // is free) must be called saturation, not blamed on the body.
    let report = quiet("no_op_unreachable_rate")
        .rate(5_000_000.0)
        .duration(Duration::from_secs(2))
        .workers(64)
        .run(|_| async {})
        .unwrap();
    let s = report.saturation.expect("the generator could not keep up");
    // Not only its CPU: the schedule shows it too, whatever the CPU read.
    assert!(s.unscheduled + s.starved_drops > s.arrivals / 100, "{s:?}");
    let summary = report.summary();
    assert!(summary.contains("! load generator saturated"), "{summary}");
}

/// A child process (that busy-loops until killed).
fn spinner(program: &str, args: &[&str]) -> std::process::Child {
    std::process::Command::new(program)
        .args(args)
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("starting a child process")
}

#[test]
fn a_monitored_child_that_spins_shows_its_own_cpu_not_the_generators() {
    let _serial = serial();
    // `sh` spinning in a shell loop, monitored by pid; `yes` writing to
    // /dev/null, monitored by name. Each keeps one core busy.
    let mut sh = spinner("sh", &["-c", "while :; do :; done"]);
    let mut yes = spinner("yes", &[]);
    let report = quiet("monitored_child")
        .workers(1)
        .duration(Duration::from_secs(3))
        .monitor(perf_runtime::Monitor::process(&sh))
        .monitor(perf_runtime::Monitor::name("yes"))
        .run(|_| tokio::time::sleep(Duration::from_millis(10)))
        .unwrap();
    let _ = (sh.kill(), yes.kill(), sh.wait(), yes.wait());
    let r = report.resources.clone().unwrap();
    let used = |name: &str| {
        let p = r
            .processes
            .iter()
            .find(|p| p.name == name)
            .unwrap_or_else(|| panic!("{name}: {r:?}"));
        (p.cpu_avg * r.cores, p)
    };
    // Two spinning children on a 2-core machine share it with the
    // (sleeping) generator: each gets most of a core.
    for name in ["sh", "yes"] {
        let (cores, p) = used(name);
        assert!(
            (0.6..=1.15).contains(&cores),
            "{name}: {cores:.2} cores: {p:?}"
        );
        assert!(p.rss_peak_bytes > 0 && p.processes_max == 1, "{p:?}");
    }
    let own = r.cpu_avg * r.cores;
    assert!(own < 0.1, "the generator only sleeps: {own:.3} cores");
    let summary = report.summary();
    assert!(
        summary.contains("  sh......") && summary.contains("(name:yes)"),
        "{summary}"
    );
}

#[test]
fn a_monitored_name_with_no_process_says_so() {
    let _serial = serial();
    let report = quiet("monitored_nothing")
        .workers(1)
        .duration(Duration::from_millis(1200))
        .monitor(perf_runtime::Monitor::name("no-such-process-here"))
        .run(|_| tokio::time::sleep(Duration::from_millis(10)))
        .unwrap();
    let summary = report.summary();
    assert!(
        summary.contains("name:no-such-process-here: no such process during the run"),
        "{summary}"
    );
}

#[test]
fn cpu_and_rss_thresholds_judge_the_sampled_figures() {
    let _serial = serial();
    let spin = quiet("cpu_threshold_spin")
        .workers(1)
        .duration(Duration::from_secs(2))
        .threshold(Threshold::cpu().lt(0.25))
        .threshold(Threshold::peak_rss().lt(4_000_000_000))
        .run(|_| async {
            let until = Instant::now() + Duration::from_millis(1);
            while Instant::now() < until {
                std::hint::spin_loop();
            }
        })
        .unwrap();
    let cpu = &spin.thresholds[0];
    // One spinning worker of a 2-core machine: about half of its cores.
    let share = cpu.observed.unwrap() * spin.resources.as_ref().unwrap().cores;
    assert!(!cpu.passed && (0.85..=1.15).contains(&share), "{cpu:?}");
    assert!(cpu.observed_display.contains(" cores)"), "{cpu:?}");
    assert!(spin.thresholds[1].passed, "{:?}", spin.thresholds[1]);
    assert!(!spin.passed);
}

/// The attribute's form: a sleeping body stays far below a quarter of
/// the cores, and its RSS below 1 GB.
#[perf_test(
    workers = 1,
    duration = "1500ms",
    cpu < "25%",
    cpu < "50%" per "1s",
    peak_rss < "1GB"
)]
async fn a_sleeping_test_holds_its_cpu_and_rss_thresholds() {
    tokio::time::sleep(Duration::from_millis(10)).await;
}

#[test]
fn the_figures_cover_the_measured_phase_not_the_warm_up_before_it() {
    let _serial = serial();
    // An idle warm-up of 1.5 s, then 2 s of one spinning worker: the
    // sampler reads at the phase's start, so none of the idle second
    // before it dilutes the share (from the last once-a-second reading,
    // up to a third of the window would be warm-up: about 0.67 cores).
    let report = quiet("measured_phase_only")
        .workers(1)
        .warmup(Duration::from_millis(1500))
        .duration(Duration::from_secs(2))
        .run(|ctx| async move {
            if ctx.is_warmup() {
                tokio::time::sleep(Duration::from_millis(10)).await;
                return;
            }
            let until = Instant::now() + Duration::from_millis(1);
            while Instant::now() < until {
                std::hint::spin_loop();
            }
        })
        .unwrap();
    let r = report.resources.unwrap();
    let used = r.cpu_avg * r.cores;
    assert!(
        (0.85..=1.15).contains(&used),
        "{used:.2} cores over {:.2} s",
        r.window_s
    );
    assert!((r.window_s - 2.0).abs() < 0.1, "{:.3} s", r.window_s);
}

#[test]
fn an_earlier_tests_memory_is_not_a_later_tests_peak() {
    let _serial = serial();
    // One test leaves 150 MiB resident (a cache it keeps for the rest of
    // the process), as a failed test's backtrace symbols do.
    static KEPT: std::sync::Mutex<Vec<u8>> = std::sync::Mutex::new(Vec::new());
    const LEFT: u64 = 150 << 20;
    quiet("leaves_memory")
        .repeat(1)
        .run(|_| async {
            *KEPT.lock().unwrap() = vec![1u8; LEFT as usize];
        })
        .unwrap();
    let trivial = quiet("trivial")
        .workers(1)
        .duration(Duration::from_millis(1500))
        .threshold(Threshold::peak_rss().lt(100 << 20))
        .run(|_| tokio::time::sleep(Duration::from_millis(5)))
        .unwrap();
    let r = trivial.resources.clone().unwrap();
    // Its own peak is what it would have had in a process of its own (a
    // test binary: tens of MiB), not the 150 MiB left before it.
    assert!(r.rss_peak_bytes < 100 << 20, "{r:?}");
    assert!(r.rss_held_before_bytes.abs_diff(LEFT) <= LEFT / 10, "{r:?}");
    assert!(trivial.passed, "{}", trivial.summary());
    assert!(
        trivial
            .summary()
            .contains("(this run's own; the process held"),
        "{}",
        trivial.summary()
    );
    KEPT.lock().unwrap().clear();
    KEPT.lock().unwrap().shrink_to_fit();
}
