//! Scenarios: several named load shapes of one test at the same time, each
//! with its own figures and thresholds, sharing the group's setup.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::SeqCst};
use std::sync::Arc;
use std::time::Duration;

use perf_runtime::prelude::*;
use perf_runtime::{Scenarios, ScenariosReport};

fn scenario(name: &str) -> PerfTest {
    PerfTest::new(name)
        .no_report_file()
        .quiet()
        .env_overrides(false)
}

#[derive(Default)]
struct Shop {
    browsed: AtomicU64,
    bought: AtomicU64,
    clients: AtomicUsize,
}

fn shop_run() -> (ScenariosReport, Arc<AtomicUsize>) {
    let torn_down = Arc::new(AtomicUsize::new(0));
    let teardown = Arc::clone(&torn_down);
    let report = Scenarios::with_setup("shop", || async { Shop::default() })
        .teardown(move |shop: Arc<Shop>| async move {
            teardown.store(1 + shop.clients.load(SeqCst), SeqCst);
        })
        .exclusive(false)
        .scenario(
            scenario("browse")
                .rate(200.0)
                .duration(Duration::from_millis(1500))
                .workers(20)
                .threshold(Threshold::p(95.0).lt(Duration::from_millis(500))),
            |_ctx, shop: Arc<Shop>| async move {
                shop.browsed.fetch_add(1, SeqCst);
                tokio::time::sleep(Duration::from_millis(1)).await;
            },
        )
        .scenario_per_worker(
            scenario("checkout")
                .workers(3)
                .duration(Duration::from_millis(1500))
                // 10 ms bodies cannot hold 1 ms at p95: this one breaks.
                .threshold(Threshold::p(95.0).lt(Duration::from_millis(1))),
            |worker, shop: Arc<Shop>| async move {
                shop.clients.fetch_add(1, SeqCst);
                worker
            },
            |_ctx, shop, _client: Arc<usize>| async move {
                shop.bought.fetch_add(1, SeqCst);
                tokio::time::sleep(Duration::from_millis(10)).await;
                Ok::<(), String>(())
            },
        )
        .run()
        .unwrap();
    (report, torn_down)
}

#[test]
fn scenarios_run_at_the_same_time_and_are_judged_each_on_its_own() {
    let (report, torn_down) = shop_run();
    let browse = report.scenario("browse").expect("browse");
    let checkout = report.scenario("checkout").expect("checkout");
    assert_eq!(browse.name, "shop::browse");
    assert_eq!(checkout.name, "shop::checkout");

    // Both loads ran through the same 1.5 s: their measured phases start
    // together (after every scenario's preparation) and overlap.
    let (a, b) = (browse.started_at_unix_ms, checkout.started_at_unix_ms);
    assert!(a.abs_diff(b) < 300, "starts {a} and {b} ms apart");
    assert!(
        browse.elapsed() >= Duration::from_millis(1400),
        "{:?}",
        browse.elapsed()
    );
    assert!(
        checkout.elapsed() >= Duration::from_millis(1400),
        "{:?}",
        checkout.elapsed()
    );
    assert!(
        report.elapsed < Duration::from_millis(1500 * 2),
        "{:?}",
        report.elapsed
    );

    // Each has its own figures: 200/s for 1.5 s is 300 arrivals (a busy
    // 2-core machine may drop a few); 3 workers of 10 ms bodies cannot
    // exceed 450.
    assert!(
        (250..=301).contains(&(browse.iterations + browse.dropped)),
        "{} + {} dropped",
        browse.iterations,
        browse.dropped
    );
    assert!(
        (30..=450).contains(&checkout.iterations),
        "{}",
        checkout.iterations
    );
    assert!(browse.load.rate.is_some() && checkout.load.rate.is_none());

    // Its own thresholds: checkout broke its p95, browse did not.
    assert!(browse.passed, "{}", browse.summary());
    assert!(!checkout.passed);
    assert!(!report.passed());
    let summary = report.summary();
    assert!(
        summary.contains("perf scenarios shop  ✗ FAILED  (2 scenarios"),
        "{summary}"
    );
    assert!(summary.contains("broke p95 < 1ms"), "{summary}");
    let panic = std::panic::catch_unwind(|| report.assert_passed()).unwrap_err();
    let message = panic.downcast_ref::<String>().unwrap();
    assert!(message.contains("`shop::checkout` failed"), "{message}");

    // The group's state was shared and made once; checkout's 3 workers
    // each got their own client; the teardown ran after both.
    assert_eq!(torn_down.load(SeqCst), 1 + 3);
}

#[test]
fn a_scenario_that_does_not_run_does_not_hold_up_the_others() {
    let report = Scenarios::new("gated")
        .exclusive(false)
        .scenario(
            scenario("skipped")
                .gate("PERF_SCENARIO_TEST_NEVER_SET")
                .repeat(10),
            |_ctx, _| async {},
        )
        .scenario(scenario("runs").workers(2).repeat(200), |_ctx, _| async {})
        .run()
        .unwrap();
    assert!(report.scenario("skipped").unwrap().skipped.is_some());
    assert_eq!(report.scenario("runs").unwrap().iterations, 200);
    assert!(report.passed());
}

#[test]
fn a_group_needs_scenarios_with_names_of_their_own() {
    let empty = Scenarios::new("empty").run().unwrap_err().to_string();
    assert!(empty.contains("add at least one"), "{empty}");
    let twice = Scenarios::new("twice")
        .scenario(scenario("a").repeat(1), |_ctx, _| async {})
        .scenario(scenario("a").repeat(1), |_ctx, _| async {})
        .run()
        .unwrap_err()
        .to_string();
    assert!(twice.contains("two scenarios are named `a`"), "{twice}");
}
