//! The machine check: a short fixed workload timed when a baseline is
//! saved and when a run is compared with it, so that a slower machine (a
//! busier one, a throttled CPU, another instance type) is named as such
//! instead of being blamed on the code. About 30 ms: the median of 15
//! runs of a CPU-bound loop, and of 9 sleeps of 1 ms (the timer's slack
//! is what a sleep-bound test measures).

use std::hint::black_box;
use std::time::{Duration, Instant};

use crate::model::runs::Calibration;

/// Steps of the CPU workload (about 1.8 ms on this 2-core machine).
const CPU_STEPS: u32 = 1 << 20;

/// The fixed CPU workload: a xorshift chain, which the compiler cannot
/// shorten (each step needs the last) and which touches no memory.
fn cpu_work() -> u64 {
    let mut x = black_box(0x9E37_79B9_7F4A_7C15u64);
    for _ in 0..CPU_STEPS {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
    }
    black_box(x)
}

fn median_ns(mut samples: Vec<Duration>) -> u64 {
    samples.sort();
    samples[samples.len() / 2].as_nanos() as u64
}

/// Measures this machine now.
pub(crate) fn calibrate() -> Calibration {
    let cpu = (0..15)
        .map(|_| {
            let t = Instant::now();
            cpu_work();
            t.elapsed()
        })
        .collect();
    let timer = (0..9)
        .map(|_| {
            let t = Instant::now();
            std::thread::sleep(Duration::from_millis(1));
            t.elapsed()
        })
        .collect();
    Calibration {
        cpu_ns: median_ns(cpu),
        timer_ns: median_ns(timer),
    }
}
