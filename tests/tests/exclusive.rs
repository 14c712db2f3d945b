//! Perf tests take turns: two started together (threads of one test
//! binary, as plain `cargo test` runs them, or two processes, as
//! cargo-nextest does) never measure at the same time, and each measures
//! what it measures alone; with `exclusive = false` they overlap, measure
//! each other, and say so.
//!
//! The body is a fixed CPU workload; each test runs it on 2 workers, one
//! per core of a 2-core machine. Two tests at once put 4 busy threads on
//! 2 cores: each runs at about half its throughput, and the iterations a
//! preemption lands in take a time slice longer. Taking turns, each
//! measures a median within 1.5× of what it measures alone, right after;
//! overlapping, the slowdown of the mean and the throughput is printed.

use std::path::PathBuf;

use perf_runtime::prelude::*;

/// About half a millisecond of arithmetic (unoptimised test code).
fn work() -> u64 {
    let mut x = 0x9E37_79B9_7F4A_7C15u64;
    for _ in 0..60_000 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
    }
    std::hint::black_box(x)
}

fn test(name: &str, exclusive: Option<bool>) -> PerfTest {
    let t = PerfTest::new(format!("exclusive::{name}"))
        .workers(2)
        .repeat(1_500)
        .env_overrides(false)
        .no_report_file()
        .quiet();
    match exclusive {
        Some(e) => t.exclusive(e),
        None => t,
    }
}

fn run(t: PerfTest) -> Report {
    t.run(|_ctx| async {
        work();
    })
    .unwrap()
}

/// When the measured phase ran, in nanoseconds since the epoch.
fn window(r: &Report) -> (u128, u128) {
    let start = u128::from(r.started_at_unix_ms) * 1_000_000;
    (start, start + r.elapsed().as_nanos())
}

/// Whether two windows overlap by more than the millisecond that
/// `started_at_unix_ms` rounds away.
fn overlap(a: (u128, u128), b: (u128, u128)) -> bool {
    let slack = 1_000_000;
    a.0 + slack < b.1 && b.0 + slack < a.1
}

fn pair(exclusive: Option<bool>) -> [Report; 2] {
    let barrier = std::sync::Arc::new(std::sync::Barrier::new(2));
    let handles: Vec<_> = ["a", "b"]
        .into_iter()
        .map(|name| {
            let barrier = barrier.clone();
            std::thread::spawn(move || {
                barrier.wait();
                run(test(name, exclusive))
            })
        })
        .collect();
    let mut reports = handles.into_iter().map(|h| h.join().unwrap());
    [reports.next().unwrap(), reports.next().unwrap()]
}

fn p50(r: &Report) -> f64 {
    r.percentile(50.0).as_secs_f64()
}

#[test]
fn perf_tests_of_one_binary_take_turns_unless_told_not_to() {
    let solo = run(test("alone", None));
    let alone = p50(&solo);

    let [a, b] = pair(None);
    assert!(
        !overlap(window(&a), window(&b)),
        "exclusive runs overlapped: {:?} {:?}",
        window(&a),
        window(&b)
    );
    for r in [&a, &b] {
        assert_eq!(r.overlapped, None);
        let ratio = p50(r) / alone;
        assert!(ratio < 1.5, "taking turns, p50 {ratio:.2}× alone");
    }

    let [a, b] = pair(Some(false));
    assert!(
        overlap(window(&a), window(&b)),
        "exclusive = false ran apart"
    );
    for r in [&a, &b] {
        let o = r.overlapped.as_deref().expect("the overlap is reported");
        assert!(o.contains("of this process"), "{o}");
        assert!(
            r.summary().contains("ran at the same time"),
            "{}",
            r.summary()
        );
    }
    // How much they slowed each other is a figure, not an assertion: on a
    // machine busy with something else "alone" is slow too. A preemption
    // costs the iteration it lands in a time slice, so it shows in the mean
    // and the throughput more than in the median.
    let mean = |r: &Report| r.latency.mean_ns / 1e3;
    perf_runtime::print_figures(&format!(
        "alone: mean {:.0} µs, {:.0}/s; overlapping (exclusive = false): mean {:.0} µs and {:.0} µs, {:.0}/s and {:.0}/s",
        mean(&solo),
        solo.throughput,
        mean(&a),
        mean(&b),
        a.throughput,
        b.throughput
    ));
}

/// The child side of the two-process test: runs one exclusive perf test
/// and writes when its measured phase ran, when `EXCLUSIVE_CHILD_OUT` names
/// a file; does nothing otherwise.
#[test]
fn child_run() {
    let Some(out) = std::env::var_os("EXCLUSIVE_CHILD_OUT") else {
        return;
    };
    let r = run(test("child", None));
    let (start, end) = window(&r);
    std::fs::write(PathBuf::from(out), format!("{start} {end}")).unwrap();
}

#[test]
fn perf_tests_in_two_processes_take_turns() {
    let dir = tempfile::tempdir().unwrap();
    let exe = std::env::current_exe().unwrap();
    let outs: Vec<PathBuf> = (0..2).map(|i| dir.path().join(format!("{i}"))).collect();
    let children: Vec<_> = outs
        .iter()
        .map(|out| {
            std::process::Command::new(&exe)
                .args(["--exact", "child_run", "--quiet"])
                .env("EXCLUSIVE_CHILD_OUT", out)
                .stdout(std::process::Stdio::null())
                .spawn()
                .unwrap()
        })
        .collect();
    for mut child in children {
        assert!(child.wait().unwrap().success());
    }
    let windows: Vec<(u128, u128)> = outs
        .iter()
        .map(|out| {
            let text = std::fs::read_to_string(out).unwrap();
            let (s, e) = text.split_once(' ').unwrap();
            (s.parse().unwrap(), e.parse().unwrap())
        })
        .collect();
    assert!(
        !overlap(windows[0], windows[1]),
        "two processes measured at once: {windows:?}"
    );
}

/// The child side of the stopped-holder test: one exclusive perf test with
/// a timeout, in a target directory whose lock another process holds;
/// prints how it ended.
#[test]
fn lock_child() {
    let Some(mode) = std::env::var_os("LOCK_CHILD") else {
        return;
    };
    if mode == "lost" {
        let r = test("lock_child", None).repeat(10).run(|_| async {});
        println!("{}", r.unwrap().summary());
        return;
    }
    let result = test("lock_child", None)
        .repeat(10)
        .timeout(std::time::Duration::from_millis(5_500))
        .run(|_| async {});
    match result {
        Ok(r) => println!("ran: {}", r.summary()),
        Err(e) => println!("error: {e}"),
    }
}

#[test]
fn a_turn_held_by_a_stopped_process_is_said_and_given_up_at_the_timeout() {
    let target = tempfile::tempdir().unwrap();
    let lock = target.path().join("perf/.lock");
    std::fs::create_dir_all(lock.parent().unwrap()).unwrap();
    // Another process takes the lock, says who it is, and is stopped
    // (SIGSTOP): it will never let go by itself.
    let mut holder = std::process::Command::new("flock")
        .arg("-x")
        .arg(&lock)
        .args(["sleep", "60"])
        .spawn()
        .expect("flock(1) from util-linux");
    let pid = holder.id();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while std::process::Command::new("flock")
        .args(["-n", "-s"])
        .arg(&lock)
        .arg("true")
        .status()
        .unwrap()
        .success()
    {
        assert!(
            std::time::Instant::now() < deadline,
            "flock never took the lock"
        );
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    std::fs::write(&lock, format!("{pid}\n")).unwrap();
    let stop = |signal: &str| {
        std::process::Command::new("kill")
            .args([signal, &pid.to_string()])
            .status()
            .unwrap()
    };
    stop("-STOP");
    let started = std::time::Instant::now();
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "lock_child", "--nocapture", "--test-threads=1"])
        .env("LOCK_CHILD", "1")
        .env("CARGO_TARGET_DIR", target.path())
        .output()
        .unwrap();
    let took = started.elapsed();
    stop("-CONT");
    let _ = holder.kill();
    let _ = holder.wait();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    // It said so after 5 s, naming the holder and its state ...
    assert!(
        stderr.contains("waiting 5s for its turn")
            && stderr.contains(&format!("pid {pid} (flock, stopped")),
        "{stderr}"
    );
    // ... and gave up at its timeout of 5.5 s, saying why.
    assert!(
        stdout.contains("its turn did not come within its timeout of 5.5s")
            && stdout.contains(".lock is held by"),
        "{stdout}"
    );
    assert!(took < std::time::Duration::from_secs(15), "{took:?}");
}

#[test]
fn a_lock_file_that_cannot_be_made_is_said_in_the_summary() {
    // `/proc/self/perf` cannot be created, even by root.
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "lock_child", "--nocapture", "--test-threads=1"])
        .env("LOCK_CHILD", "lost")
        .env("CARGO_TARGET_DIR", "/proc/self")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("the lock file could not be used (/proc/self/perf/.lock")
            && stdout.contains("perf tests of other processes were not kept from running"),
        "{stdout}"
    );
}
