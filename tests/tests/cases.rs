//! Parametrised perf tests: one test per case, expected outputs and
//! `validate` checked, cases compared with each other; the `TableTest`
//! builder; `PerformanceSLA`.

use std::hint::black_box;
use std::process::Command;
use std::time::Duration;

use perf_runtime::prelude::*;
use perf_runtime::{SlaViolation, TableTest};

#[perf_test(repeat = 100, p95 < "1s")]
#[case::small(100)]
#[case::large(10_000)]
#[case(7)]
async fn put(size: usize) {
    black_box(vec![0u8; size]);
}

#[test]
fn each_case_is_a_test_that_can_be_selected() {
    let exe = std::env::current_exe().unwrap();
    let listed = Command::new(&exe).args(["--list"]).output().unwrap();
    let listed = String::from_utf8_lossy(&listed.stdout);
    for case in ["put::small: test", "put::large: test", "put::case_3: test"] {
        assert!(listed.contains(case), "{case} in\n{listed}");
    }
    let one = Command::new(&exe)
        .args(["put::large", "--exact"])
        .env("PERF_SUMMARY", "never")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&one.stdout);
    assert!(
        stdout.contains("test put::large ... ok") && stdout.contains("1 passed"),
        "{stdout}"
    );
}

fn report_of(path: &str) -> Report {
    Report::read_json(&perf_tests::target_dir().join("perf").join(path)).unwrap()
}

#[perf_test(repeat = 50, error_rate <= 1)]
#[case::right(3, 9)]
#[case::wrong(3, 10)]
#[case::overridden(4, 16; repeat = 7)]
async fn square(n: u64) -> u64 {
    n * n
}

#[test]
fn expected_outputs_are_checked_and_mismatches_counted_with_the_case_name() {
    square::wrong();
    let wrong = report_of("cases/square/wrong.json");
    assert_eq!((wrong.iterations, wrong.errors), (50, 50));
    assert_eq!(
        wrong.first_errors[0].message,
        "case `wrong`: expected 10, got 9"
    );
    square::right();
    assert_eq!(report_of("cases/square/right.json").errors, 0);
    square::overridden();
    assert_eq!(
        report_of("cases/square/overridden.json").iterations,
        7,
        "the case's own repeat"
    );
}

#[perf_test(repeat = 20, workers = 2, error_rate <= 1)]
#[case::checked(0; validate = is_even)]
async fn produce(ctx: &Ctx, offset: u64) -> Result<u64, String> {
    Ok(ctx.iteration() + offset)
}

fn is_even(v: &u64) -> bool {
    v.is_multiple_of(2)
}

#[test]
fn validate_checks_every_output() {
    produce::checked();
    let r = report_of("cases/produce/checked.json");
    assert_eq!((r.iterations, r.errors), (20, 10));
    assert_eq!(r.first_errors[0].message, "validation failed");
}

#[test]
fn table_test_runs_cases_validates_and_reports_failures_by_case() {
    let table = perf_tests::block_on(
        TableTest::<u64, u64>::new("cases::table")
            .case("ok", 4, 16)
            .case("off_by_one", 4, 17)
            .parallel()
            .max_workers(4)
            .repeat(40)
            .timeout(Duration::from_secs(60))
            .quiet()
            .run(|n| async move { n * n }, |out, expected| out == expected),
    );
    assert_eq!(table.case("ok").unwrap().errors, 0);
    let wrong = table.case("off_by_one").unwrap();
    assert_eq!(
        (wrong.iterations, wrong.errors, wrong.load.workers),
        (40, 40, 4)
    );
    assert!(wrong.first_errors[0]
        .message
        .contains("case `off_by_one`: expected 17, got 16"));
    let message = perf_tests::panic_message(|| table.assert_passed());
    assert!(
        message.starts_with("1 of 2 cases failed") && message.contains("cases::table::off_by_one"),
        "{message}"
    );
}

const CHECKOUT_SLA: PerformanceSLA = PerformanceSLA::new()
    .max_average_latency(Duration::from_millis(100))
    .max_p95_latency(Duration::from_millis(500))
    .max_p99_latency(Duration::from_secs(1))
    .max_error_rate(0.01)
    .min_throughput(10.0);

#[test]
fn sla_validate_lists_every_violation() {
    // 2,000 iterations of 1–2 s in 400 s (5/s), 5% failed: every limit broken.
    let mut h = hdrhistogram::Histogram::new(3).unwrap();
    for i in 0..2000u64 {
        h.record(1_000_000_000 + (i % 1000) * 1_000_000).unwrap();
    }
    let slow = Report::from_parts("sla::slow", h, 100, Duration::from_secs(400));
    let violations: Vec<SlaViolation> = CHECKOUT_SLA.validate(&slow).unwrap_err();
    let limits: Vec<&str> = violations.iter().map(|v| v.limit).collect();
    assert_eq!(
        limits,
        [
            "max_average_latency",
            "max_p95_latency",
            "max_p99_latency",
            "max_error_rate",
            "min_throughput"
        ]
    );
    assert!(
        violations[3].to_string().contains("error_rate <= 0.01")
            && violations[3].observed.contains("100 of 2000")
    );

    let mut fast = hdrhistogram::Histogram::new(3).unwrap();
    fast.record_n(1_000_000, 1000).unwrap();
    assert!(CHECKOUT_SLA
        .validate(&Report::from_parts(
            "sla::fast",
            fast,
            0,
            Duration::from_secs(1)
        ))
        .is_ok());
}

#[perf_test(repeat = 20, sla = CHECKOUT_SLA)]
async fn the_sla_applies_through_the_attribute() {
    tokio::time::sleep(Duration::from_millis(1)).await;
}

const STRICT_SLA: PerformanceSLA = PerformanceSLA::new().max_p95_latency(Duration::from_micros(1));

#[perf_test(repeat = 10, sla = STRICT_SLA)]
#[should_panic(expected = "p95: observed")]
async fn a_broken_sla_fails_the_test() {
    tokio::time::sleep(Duration::from_millis(1)).await;
}

#[test]
#[should_panic(expected = "table test `cases::twins`: cases 1 and 2 are both named `same`")]
fn a_table_with_two_cases_of_one_name_runs_neither() {
    let ran = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let counted = ran.clone();
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        perf_tests::block_on(
            TableTest::<u64, u64>::new("cases::twins")
                .case("same", 1, 1)
                .case("same", 2, 2)
                .repeat(5)
                .quiet()
                .run(
                    move |n| {
                        counted.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        async move { n }
                    },
                    |out, expected| out == expected,
                ),
        )
    }));
    assert_eq!(ran.load(std::sync::atomic::Ordering::Relaxed), 0);
    std::panic::resume_unwind(outcome.unwrap_err());
}
