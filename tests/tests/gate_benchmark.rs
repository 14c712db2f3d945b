//! The regression gates `scripts/gate-benchmark` measures: a 2 ms tokio
//! sleep and a 2 ms thread sleep on one worker, and a CPU-bound body on
//! four, each gated by a bare 10% budget against baseline `v1`. All are
//! gated by `PERF_GATE_BENCHMARK`, so a plain `cargo test` skips them (passing,
//! with a line saying how to run them); the script saves their baselines
//! once and reruns them, unchanged and with `GATE_SLOWDOWN=1.3` (the code
//! made 30% slower), while another process keeps one core busy.

use std::sync::OnceLock;
use std::time::Duration;

use perf_runtime::perf_test;

/// `GATE_SLOWDOWN`: how much slower the code is (1 when unset).
fn slowdown() -> f64 {
    static SLOWDOWN: OnceLock<f64> = OnceLock::new();
    *SLOWDOWN.get_or_init(|| {
        std::env::var("GATE_SLOWDOWN")
            .ok()
            .map(|v| {
                v.parse::<f64>()
                    .ok()
                    .filter(|f| f.is_finite() && (0.1..=10.0).contains(f))
                    .unwrap_or_else(|| {
                        panic!("GATE_SLOWDOWN={v:?}: expected a factor in [0.1, 10]")
                    })
            })
            .unwrap_or(1.0)
    })
}

/// About `micros` µs of CPU work (a xorshift chain the compiler cannot
/// shorten), on the machine the steps were counted on.
fn cpu(steps: u64) -> u64 {
    let mut x = std::hint::black_box(0x9E37_79B9_7F4A_7C15u64);
    for _ in 0..steps {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
    }
    std::hint::black_box(x)
}

#[perf_test(
    workers = 1,
    repeat = 300,
    baseline = "v1",
    regression < "10%",
    gate = "PERF_GATE_BENCHMARK"
)]
async fn sleep_gate() {
    tokio::time::sleep(Duration::from_secs_f64(0.002 * slowdown())).await;
}

/// A sleep-bound body whose slowdown is what it says: tokio's timer has
/// millisecond ticks (2 ms and 2.4 ms both take about 3 ms), a thread's
/// sleep does not (its one worker may block its runtime thread).
#[perf_test(
    workers = 1,
    repeat = 300,
    baseline = "v1",
    regression < "10%",
    gate = "PERF_GATE_BENCHMARK"
)]
async fn precise_sleep_gate() {
    std::thread::sleep(Duration::from_secs_f64(0.002 * slowdown()));
}

#[perf_test(
    workers = 4,
    repeat = 400,
    baseline = "v1",
    regression < "10%",
    gate = "PERF_GATE_BENCHMARK"
)]
async fn cpu_gate() {
    cpu((300_000.0 * slowdown()) as u64);
}
