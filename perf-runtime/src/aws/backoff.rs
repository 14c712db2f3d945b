//! Exponential backoff with full jitter, as AWS recommends for retrying
//! throttled or partially processed requests ("Exponential Backoff And
//! Jitter", AWS Architecture Blog): before retry `n` (from 1), sleep a
//! uniformly random time in `[0, min(max_delay, base * 2^(n-1))]`.

use std::time::Duration;

/// Retry policy: at most `max_retries` retries after the first attempt,
/// each after a full-jitter delay. The default is 3 retries from a
/// 100 ms base delay, each delay capped at 20 s.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// Retries after the first attempt (0: no retry).
    pub max_retries: u32,
    /// The ceiling of the first retry's delay; doubles with each retry.
    pub base_delay: Duration,
    /// No delay exceeds this.
    pub max_delay: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff {
            max_retries: 3,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(20),
        }
    }
}

impl Backoff {
    /// The upper bound of the delay before retry `retry` (1-based):
    /// `min(max_delay, base_delay * 2^(retry-1))`.
    pub fn ceiling(&self, retry: u32) -> Duration {
        let doublings = retry.saturating_sub(1).min(63);
        let ceiling = self
            .base_delay
            .checked_mul(1u32.checked_shl(doublings).unwrap_or(u32::MAX))
            .unwrap_or(self.max_delay);
        ceiling.min(self.max_delay)
    }

    /// The delay before retry `retry` (1-based): uniform in `[0, ceiling]`.
    pub fn delay(&self, retry: u32) -> Duration {
        let ceiling = self.ceiling(retry).as_nanos() as u64;
        Duration::from_nanos(rand::random_range(0..=ceiling))
    }

    /// Sleeps [`delay`](Self::delay)`(retry)` on the tokio timer.
    pub async fn wait(&self, retry: u32) {
        tokio::time::sleep(self.delay(retry)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ceilings_double_from_the_base_and_stop_at_the_cap() {
        let b = Backoff {
            max_retries: 10,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_millis(1_000),
        };
        let ms: Vec<u128> = (1..=6).map(|n| b.ceiling(n).as_millis()).collect();
        assert_eq!(ms, [100, 200, 400, 800, 1_000, 1_000]);
        // No overflow for absurd retry numbers.
        assert_eq!(b.ceiling(u32::MAX), Duration::from_millis(1_000));
    }

    #[test]
    fn delays_are_full_jitter_within_the_ceiling() {
        let b = Backoff::default();
        for retry in 1..=3 {
            let ceiling = b.ceiling(retry);
            let delays: Vec<Duration> = (0..2_000).map(|_| b.delay(retry)).collect();
            assert!(delays.iter().all(|d| *d <= ceiling));
            // Full jitter: uniform over [0, ceiling], so the mean is near
            // half the ceiling (2,000 draws: standard error ~0.6% of it)
            // and some delays are near 0 and some near the ceiling.
            let mean = delays.iter().sum::<Duration>() / delays.len() as u32;
            let half = ceiling / 2;
            assert!(
                mean > half.mul_f64(0.9) && mean < half.mul_f64(1.1),
                "retry {retry}: mean {mean:?}, ceiling {ceiling:?}"
            );
            assert!(delays.iter().any(|d| *d < ceiling / 10));
            assert!(delays.iter().any(|d| *d > ceiling.mul_f64(0.9)));
        }
    }

    #[tokio::test(start_paused = true)]
    async fn wait_sleeps_the_drawn_delay_on_the_tokio_clock() {
        let b = Backoff {
            max_retries: 1,
            base_delay: Duration::from_millis(400),
            max_delay: Duration::from_secs(1),
        };
        let start = tokio::time::Instant::now();
        b.wait(2).await;
        assert!(start.elapsed() <= Duration::from_millis(800));
    }
}
