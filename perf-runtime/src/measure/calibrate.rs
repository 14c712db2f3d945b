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

/// What one `Instant::now()` costs on this machine, in nanoseconds: the
/// median over 15 rounds of 256 back-to-back reads, measured once per
/// process (about 0.1 ms). Every sample pays two of them, which is what
/// batching of tiny bodies is against ([`crate::Batch`]).
pub(crate) fn clock_ns() -> f64 {
    static CLOCK: std::sync::OnceLock<f64> = std::sync::OnceLock::new();
    *CLOCK.get_or_init(|| {
        const READS: u32 = 256;
        let mut rounds: Vec<f64> = (0..15)
            .map(|_| {
                let start = Instant::now();
                let mut last = start;
                for _ in 0..READS {
                    last = black_box(Instant::now());
                }
                last.duration_since(start).as_nanos() as f64 / f64::from(READS)
            })
            .collect();
        rounds.sort_by(f64::total_cmp);
        rounds[rounds.len() / 2]
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_clock_costs_something_and_not_much() {
        let ns = super::clock_ns();
        // A vDSO read is ~20 ns, a syscall one ~1 µs: anything in between
        // is a real clock, a zero or a millisecond is a broken measurement.
        assert!(ns > 0.0 && ns < 100_000.0, "{ns} ns per read");
    }
}
