//! The memory-size sweep with cost: what AWS Lambda Power Tuning does with
//! a state machine, done from a test. For each memory size: set it, one
//! unmeasured invocation (the cold start), then `invocations` measured ones;
//! the duration of each is REPORT's billed duration on AWS, and locally the
//! client latency rounded up to the millisecond (Lambda bills per 1 ms).

use std::fmt;
use std::time::Duration;

use hdrhistogram::Histogram;

use super::{Function, LambdaError};

/// Instruction set of the function, which sets the GB-second price.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Architecture {
    /// Intel/AMD.
    X86_64,
    /// Graviton (about 20% cheaper per GB-second).
    Arm64,
}

/// Lambda prices used for cost: per GB-second of billed duration and per
/// request. Defaults: us-east-1 list prices, first pricing tier.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Prices {
    /// USD per GB-second.
    pub per_gb_second: f64,
    /// USD per request ($0.20 per million).
    pub per_request: f64,
}

impl Prices {
    /// us-east-1 list prices: x86_64 $0.0000166667 and arm64 $0.0000133334
    /// per GB-second, $0.20 per million requests.
    pub fn us_east_1(arch: Architecture) -> Prices {
        Prices {
            per_gb_second: match arch {
                Architecture::X86_64 => 0.000_016_666_7,
                Architecture::Arm64 => 0.000_013_333_4,
            },
            per_request: 0.000_000_2,
        }
    }

    /// Cost of one invocation billed `billed` at `memory_mb`.
    pub fn cost(&self, memory_mb: u32, billed: Duration) -> f64 {
        let gb_seconds = f64::from(memory_mb) / 1024.0 * billed.as_secs_f64();
        gb_seconds * self.per_gb_second + self.per_request
    }
}

impl Default for Prices {
    fn default() -> Self {
        Prices::us_east_1(Architecture::X86_64)
    }
}

/// The sweep's settings.
#[derive(Debug, Clone, PartialEq)]
pub struct MemorySweep {
    /// Memory sizes to try, MB.
    pub sizes: Vec<u32>,
    /// Measured invocations per size.
    pub invocations: usize,
    /// Prices for the cost column.
    pub prices: Prices,
}

impl Default for MemorySweep {
    /// Power Tuning's usual sizes: 128, 256, 512, 1024, 1769 (one full
    /// vCPU) and 3008 MB; 20 invocations each; x86_64 us-east-1 prices.
    fn default() -> Self {
        MemorySweep {
            sizes: vec![128, 256, 512, 1024, 1769, 3008],
            invocations: 20,
            prices: Prices::default(),
        }
    }
}

/// One memory size's figures.
#[derive(Debug, Clone, PartialEq)]
pub struct SweepRow {
    /// Memory size, MB.
    pub memory_mb: u32,
    /// Successful measured invocations.
    pub invocations: u64,
    /// Failed measured invocations (not in the durations).
    pub errors: u64,
    /// Median billed duration.
    pub p50: Duration,
    /// 95th percentile billed duration.
    pub p95: Duration,
    /// Mean billed duration.
    pub mean: Duration,
    /// Mean cost of one invocation, USD.
    pub cost_per_invocation: f64,
}

/// The sweep's table.
#[derive(Debug, Clone, PartialEq)]
pub struct SweepResult {
    /// One row per size, in the order tried.
    pub rows: Vec<SweepRow>,
    /// Where durations came from (`REPORT billed duration` or `client
    /// latency, rounded up to 1 ms`).
    pub source: &'static str,
}

impl MemorySweep {
    /// Runs the sweep against `function`, sending `payload`.
    pub async fn run(
        &self,
        function: &Function,
        payload: &[u8],
    ) -> Result<SweepResult, LambdaError> {
        let mut rows = Vec::with_capacity(self.sizes.len());
        let mut from_report = false;
        for &memory_mb in &self.sizes {
            function.set_memory(memory_mb).await?;
            // The cold start is not what this compares.
            let _ = function.call(payload).await;
            // Microseconds, up to an hour (Lambda stops at 15 minutes).
            let mut billed =
                Histogram::<u64>::new_with_bounds(1, 3_600_000_000, 3).expect("valid bounds");
            let mut errors = 0;
            let mut cost = 0.0;
            for _ in 0..self.invocations {
                match function.call(payload).await {
                    Ok(inv) => {
                        let d = match &inv.report {
                            Some(r) => {
                                from_report = true;
                                r.billed_duration
                            }
                            None => round_up_to_ms(inv.latency),
                        };
                        billed.saturating_record((d.as_micros() as u64).max(1));
                        cost += self.prices.cost(memory_mb, d);
                    }
                    Err(_) => errors += 1,
                }
            }
            let n = billed.len();
            let us = |v: u64| Duration::from_micros(v);
            rows.push(SweepRow {
                memory_mb,
                invocations: n,
                errors,
                p50: us(billed.value_at_quantile(0.5)),
                p95: us(billed.value_at_quantile(0.95)),
                mean: Duration::from_secs_f64(billed.mean() / 1e6),
                cost_per_invocation: if n == 0 { f64::NAN } else { cost / n as f64 },
            });
        }
        Ok(SweepResult {
            rows,
            source: if from_report {
                "REPORT billed duration"
            } else {
                "client latency, rounded up to 1 ms"
            },
        })
    }
}

fn round_up_to_ms(d: Duration) -> Duration {
    Duration::from_millis(d.as_nanos().div_ceil(1_000_000) as u64)
}

impl SweepResult {
    /// The size with the lowest mean cost per invocation (ties: the
    /// faster).
    pub fn cheapest(&self) -> Option<&SweepRow> {
        self.measured().min_by(|a, b| {
            a.cost_per_invocation
                .total_cmp(&b.cost_per_invocation)
                .then(a.mean.cmp(&b.mean))
        })
    }

    /// The size with the lowest mean duration (ties: the cheaper).
    pub fn fastest(&self) -> Option<&SweepRow> {
        self.measured().min_by(|a, b| {
            a.mean
                .cmp(&b.mean)
                .then(a.cost_per_invocation.total_cmp(&b.cost_per_invocation))
        })
    }

    fn measured(&self) -> impl Iterator<Item = &SweepRow> {
        self.rows.iter().filter(|r| r.invocations > 0)
    }
}

impl fmt::Display for SweepResult {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "memory sweep (duration: {})", self.source)?;
        writeln!(
            f,
            "{:>8} {:>6} {:>6} {:>10} {:>10} {:>10} {:>14} {:>12}",
            "memory", "ok", "errors", "p50", "p95", "mean", "USD/invocation", "USD/million"
        )?;
        let ms = |d: Duration| format!("{:.1}ms", d.as_secs_f64() * 1e3);
        for r in &self.rows {
            writeln!(
                f,
                "{:>6}MB {:>6} {:>6} {:>10} {:>10} {:>10} {:>14.10} {:>12.4}",
                r.memory_mb,
                r.invocations,
                r.errors,
                ms(r.p50),
                ms(r.p95),
                ms(r.mean),
                r.cost_per_invocation,
                r.cost_per_invocation * 1e6
            )?;
        }
        if let (Some(c), Some(s)) = (self.cheapest(), self.fastest()) {
            writeln!(
                f,
                "cheapest: {} MB (${:.4}/million)   fastest: {} MB (mean {})",
                c.memory_mb,
                c.cost_per_invocation * 1e6,
                s.memory_mb,
                ms(s.mean)
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cost_is_gb_seconds_times_price_plus_the_request() {
        let p = Prices::us_east_1(Architecture::X86_64);
        // 1 GB for 1 s: one GB-second plus one request.
        let c = p.cost(1024, Duration::from_secs(1));
        assert!((c - (0.000_016_666_7 + 0.000_000_2)).abs() < 1e-15);
        // 128 MB for 100 ms: 0.0125 GB-s.
        let c = p.cost(128, Duration::from_millis(100));
        assert!((c - (0.0125 * 0.000_016_666_7 + 0.000_000_2)).abs() < 1e-15);
        // Graviton is cheaper for the same work.
        let arm = Prices::us_east_1(Architecture::Arm64);
        assert!(arm.cost(1024, Duration::from_secs(1)) < p.cost(1024, Duration::from_secs(1)));
    }

    #[test]
    fn billing_rounds_up_to_the_millisecond() {
        assert_eq!(
            round_up_to_ms(Duration::from_micros(1)),
            Duration::from_millis(1)
        );
        assert_eq!(
            round_up_to_ms(Duration::from_millis(7)),
            Duration::from_millis(7)
        );
        assert_eq!(
            round_up_to_ms(Duration::from_micros(7_001)),
            Duration::from_millis(8)
        );
    }

    fn row(memory_mb: u32, mean_ms: u64, cost: f64) -> SweepRow {
        let d = Duration::from_millis(mean_ms);
        SweepRow {
            memory_mb,
            invocations: 10,
            errors: 0,
            p50: d,
            p95: d,
            mean: d,
            cost_per_invocation: cost,
        }
    }

    #[test]
    fn cheapest_and_fastest_pick_different_sizes() {
        let result = SweepResult {
            rows: vec![
                row(128, 800, 2.0e-6),
                row(1024, 100, 1.9e-6),
                row(3008, 60, 3.2e-6),
                SweepRow {
                    invocations: 0,
                    ..row(4096, 0, f64::NAN)
                },
            ],
            source: "test",
        };
        assert_eq!(result.cheapest().unwrap().memory_mb, 1024);
        assert_eq!(result.fastest().unwrap().memory_mb, 3008);
        let table = result.to_string();
        assert!(table.contains("cheapest: 1024 MB"), "{table}");
        assert!(table.contains("fastest: 3008 MB"), "{table}");
    }
}
