//! The resource figures from hand-made readings.

use super::*;

fn reading(at_s: f64, cpu_s: f64, rss_mb: u64, sent: u64) -> Reading {
    Reading {
        at_s,
        cpu_user_s: cpu_s * 0.75,
        cpu_system_s: cpu_s * 0.25,
        rss_bytes: rss_mb << 20,
        threads: 3,
        voluntary: (at_s * 10.0) as u64,
        involuntary: at_s as u64,
        net: Some(NetTraffic {
            sent_bytes: sent,
            recv_bytes: sent / 2,
            sent_packets: sent / 1000,
            recv_packets: sent / 2000,
        }),
    }
}

#[test]
fn cpu_is_a_share_of_the_cores_and_saturation_is_counted_in_seconds() {
    // 2 cores: 1 s at one core, 1 s at both, 0.5 s idle.
    let readings = [
        reading(0.0, 0.0, 40, 0),
        reading(1.0, 1.0, 60, 1_000_000),
        reading(2.0, 3.0, 200, 3_000_000),
        reading(2.5, 3.0, 50, 3_000_000),
    ];
    let r = summarise(&readings, 2.0, RssBase::NONE).unwrap();
    assert!((r.cpu_seconds - 3.0).abs() < 1e-9);
    assert!((r.cpu_user_seconds - 2.25).abs() < 1e-9);
    assert!((r.cpu_avg - 3.0 / 2.5 / 2.0).abs() < 1e-9);
    assert!((r.cpu_max - 1.0).abs() < 1e-9);
    assert_eq!(r.rss_peak_bytes, 200 << 20);
    assert!((r.saturated_s - 1.0).abs() < 1e-9, "{}", r.saturated_s);
    assert!(r.generator_saturated(2.5));
    assert!(!r.generator_saturated(20.0), "1 s of 20 is not 10%");
    let net = r.net.unwrap();
    assert_eq!((net.sent_bytes, net.recv_bytes), (3_000_000, 1_500_000));
    assert_eq!(r.samples.len(), 3);
    assert_eq!(r.samples[1].net_sent_bytes, 2_000_000);
    assert!((r.samples[1].cpu_cores - 2.0).abs() < 1e-9);
    assert_eq!((r.voluntary_switches, r.involuntary_switches), (25, 2));
    // A window under the 10 ms tick can read a whole tick: at most all the
    // cores (it read 11 × the cores, which a shard's merge then refused).
    let short = [reading(0.0, 0.0, 40, 0), reading(0.000_45, 0.01, 40, 0)];
    let r = summarise(&short, 2.0, RssBase::NONE).unwrap();
    assert_eq!((r.cpu_avg, r.samples[0].cpu_cores), (1.0, 2.0));
    let p = |at_s, cpu_s| ProcReading {
        at_s,
        cpu_s,
        rss_bytes: 0,
        count: 1,
    };
    let short = [p(0.0, 0.0), p(0.000_45, 0.01)];
    let q = summarise_process("x".into(), "pid:1".into(), &short, 2.0).unwrap();
    assert_eq!((q.cpu_avg, q.samples[0].cpu_cores), (1.0, 2.0));
}

#[test]
fn a_monitored_process_is_a_share_of_the_cores_too() {
    let r = |at_s: f64, cpu_s: f64, rss_mb: u64, count: u64| ProcReading {
        at_s,
        cpu_s,
        rss_bytes: rss_mb << 20,
        count,
    };
    let p = summarise_process(
        "orders-fn".into(),
        "name:orders-fn".into(),
        &[r(-0.4, 5.0, 10, 1), r(0.6, 5.5, 30, 2), r(2.6, 7.5, 20, 2)],
        2.0,
    )
    .unwrap();
    assert!((p.cpu_seconds - 2.5).abs() < 1e-9);
    assert!((p.cpu_avg - 2.5 / 3.0 / 2.0).abs() < 1e-9);
    assert!((p.cpu_max - 0.5).abs() < 1e-9, "1 core of 2");
    assert_eq!((p.rss_peak_bytes, p.processes_max), (30 << 20, 2));
    assert_eq!(p.samples.len(), 2);
    assert!((p.samples[0].at_s - 1.0).abs() < 1e-9);
    assert!(summarise_process("x".into(), "pid:1".into(), &[r(0.0, 1.0, 1, 1)], 2.0).is_none());
}

#[test]
fn a_generator_is_saturated_by_its_cpu_or_by_falling_behind_the_schedule() {
    let busy = summarise(
        &[reading(0.0, 0.0, 1, 0), reading(2.0, 3.8, 1, 0)],
        2.0,
        RssBase::NONE,
    )
    .unwrap();
    let idle = summarise(
        &[reading(0.0, 0.0, 1, 0), reading(2.0, 0.1, 1, 0)],
        2.0,
        RssBase::NONE,
    )
    .unwrap();
    let plan = |unscheduled, dropped, serving| Schedule {
        arrivals: 1000,
        unscheduled,
        dropped,
        pool: 64,
        serving: Some(serving),
    };
    let s = Saturation::of(Some(&busy), plan(0, 0, 1.0), 2.0).unwrap();
    assert!(s.cpu && s.cpu_saturated_s == 2.0);
    assert_eq!(Saturation::of(Some(&idle), plan(0, 0, 1.0), 2.0), None);
    // Idle CPU, but 2% of the arrivals never started: saturated.
    let s = Saturation::of(Some(&idle), plan(20, 0, 1.0), 2.0).unwrap();
    assert!(!s.cpu && s.unscheduled == 20);
    // 1% exactly is not over the line; no sampling at all still counts
    // the schedule.
    assert_eq!(Saturation::of(Some(&idle), plan(10, 0, 1.0), 2.0), None);
    assert!(Saturation::of(None, plan(11, 0, 1.0), 2.0).is_some());
    assert_eq!(Saturation::of(None, Schedule::default(), 0.0), None);
    // Drops with the pool busy serving (60 of 64): the system under
    // test is slow, not the generator.
    assert_eq!(Saturation::of(Some(&idle), plan(0, 300, 60.0), 2.0), None);
    // Drops while 3 of 64 workers were serving: the others held jobs
    // the runtime had not started.
    let s = Saturation::of(Some(&idle), plan(0, 300, 3.0), 2.0).unwrap();
    assert_eq!((s.starved_drops, s.pool), (300, 64));
    // Unknown service time: drops alone do not blame the generator.
    let unknown = Schedule {
        serving: None,
        ..plan(0, 300, 0.0)
    };
    assert_eq!(Saturation::of(Some(&idle), unknown, 2.0), None);
}

#[test]
fn too_few_readings_or_no_cores_give_nothing_and_counters_never_go_negative() {
    assert!(summarise(&[reading(0.0, 0.0, 1, 0)], 2.0, RssBase::NONE).is_none());
    assert!(summarise(
        &[reading(0.0, 0.0, 1, 0), reading(1.0, 1.0, 1, 0)],
        0.0,
        RssBase::NONE
    )
    .is_none());
    assert!(summarise(
        &[reading(0.0, 0.0, 1, 0), reading(1.0, 1.0, 1, 0)],
        f64::NAN,
        RssBase::NONE
    )
    .is_none());
    // A counter that went backwards (an interface removed) reads as 0.
    let r = summarise(
        &[reading(0.0, 1.0, 1, 500), reading(1.0, 0.5, 1, 100)],
        1.0,
        RssBase::NONE,
    )
    .unwrap();
    assert_eq!(r.cpu_seconds, 0.0);
    assert_eq!(r.net.unwrap().sent_bytes, 0);
    // Two readings at one instant: no interval, no division by zero.
    let r = summarise(
        &[reading(1.0, 1.0, 1, 0), reading(1.0, 2.0, 1, 0)],
        1.0,
        RssBase::NONE,
    )
    .unwrap();
    assert!(r.samples.is_empty() && r.cpu_avg == 0.0);
}

#[test]
fn the_peak_is_the_runs_own_not_what_earlier_tests_left_resident() {
    // The process held 8 MiB at its first perf test; this run starts
    // at 186 MiB (an earlier test's memory) and grows by 2 MiB.
    let readings = [reading(0.0, 0.0, 186, 0), reading(1.0, 0.1, 188, 0)];
    let base = |process: u64, test: u64| RssBase {
        process: process << 20,
        test: test << 20,
    };
    let r = summarise(&readings, 2.0, base(8, 186)).unwrap();
    assert_eq!(r.rss_held_before_bytes, 178 << 20);
    assert_eq!(r.rss_peak_bytes, 10 << 20, "8 MiB of its own and 2 more");
    // The first test of a process: its start is the base.
    let r = summarise(&readings, 2.0, base(186, 186)).unwrap();
    assert_eq!((r.rss_peak_bytes, r.rss_held_before_bytes), (188 << 20, 0));
    // A start below the base (memory given back since) holds nothing.
    let r = summarise(&readings, 2.0, base(200, 200)).unwrap();
    assert_eq!((r.rss_peak_bytes, r.rss_held_before_bytes), (188 << 20, 0));
    // What the test's setup made before the run (it was at 8 MiB when
    // its turn began, at 186 when the run started) is its own.
    let r = summarise(&readings, 2.0, base(8, 8)).unwrap();
    assert_eq!((r.rss_peak_bytes, r.rss_held_before_bytes), (188 << 20, 0));
}

#[test]
fn the_busiest_interval_is_a_whole_second_never_a_ticks_rounding() {
    // A sleeping body: 1 s intervals at 1% of a core, then a 20 ms
    // tail in which one 10 ms tick and a half landed (0.75 cores of
    // 2 would read 37%; two ticks in 15 ms read 133% of a core).
    let readings = [
        reading(0.0, 0.0, 1, 0),
        reading(1.0, 0.01, 1, 0),
        reading(2.0, 0.02, 1, 0),
        reading(2.015, 0.04, 1, 0),
    ];
    let r = summarise(&readings, 2.0, RssBase::NONE).unwrap();
    assert!((r.cpu_max - 0.005).abs() < 1e-9, "{}", r.cpu_max);
    // Never above all the cores, whatever the rounding.
    let r = summarise(
        &[reading(0.0, 0.0, 1, 0), reading(1.0, 2.02, 1, 0)],
        2.0,
        RssBase::NONE,
    )
    .unwrap();
    assert_eq!(r.cpu_max, 1.0);
}
