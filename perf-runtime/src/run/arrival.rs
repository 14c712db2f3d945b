//! When each iteration of an open-model run is due.
//!
//! The arrival rate is piecewise linear: it starts at `start_rate` and each
//! stage ramps it linearly to its target over its duration (a zero-length
//! stage is a step). Iteration `k` (from 0) is due when the expected number
//! of arrivals since the start, `N(t) = ∫ rate`, reaches `k`. Within a stage
//! going from rate `a` to `b` over `D` seconds, `N(τ) = aτ + (b − a)τ²/2D`,
//! solved for `τ` in the cancellation-free form
//! `τ = 2x / (a + √(a² + 2(b − a)x/D))`.

use std::time::Duration;

use perf_spec::Stage;

/// The schedule of arrivals, consumed in order.
pub(crate) struct Arrivals {
    segments: Vec<Segment>,
    current: usize,
    /// Arrivals before the current segment.
    before: f64,
    /// Start of the current segment, in seconds.
    at: f64,
    next: u64,
}

struct Segment {
    from: f64,
    to: f64,
    seconds: f64,
}

impl Segment {
    fn count(&self) -> f64 {
        (self.from + self.to) / 2.0 * self.seconds
    }
}

impl Arrivals {
    pub(crate) fn new(start_rate: f64, stages: &[Stage]) -> Self {
        let mut from = start_rate;
        let segments = stages
            .iter()
            .map(|s| {
                let seg = Segment {
                    from,
                    to: s.target,
                    seconds: s.duration.as_secs_f64(),
                };
                from = s.target;
                seg
            })
            .collect();
        Arrivals {
            segments,
            current: 0,
            before: 0.0,
            at: 0.0,
            next: 0,
        }
    }

    /// The total length of the schedule.
    #[cfg(test)]
    pub(crate) fn length(&self) -> Duration {
        Duration::from_secs_f64(self.segments.iter().map(|s| s.seconds).sum())
    }

    /// How many arrivals the whole schedule holds.
    #[cfg(test)]
    pub(crate) fn expected(&self) -> f64 {
        self.segments.iter().map(Segment::count).sum()
    }

    /// Skips every arrival due before `offset` that has not been taken yet;
    /// returns how many were skipped. Constant time per segment crossed, so
    /// a generator that fell far behind a very high rate catches up at once
    /// instead of walking through millions of missed arrivals.
    pub(crate) fn skip_to(&mut self, offset: Duration) -> u64 {
        let t = offset.as_secs_f64();
        let (mut before, mut at) = (0.0, 0.0);
        let mut due = None;
        for seg in &self.segments {
            if t < at + seg.seconds {
                let tau = t - at;
                let partial =
                    seg.from * tau + (seg.to - seg.from) * tau * tau / (2.0 * seg.seconds);
                due = Some(before + partial);
                break;
            }
            before += seg.count();
            at += seg.seconds;
        }
        // Arrivals with k < N(t) are due before t.
        let target = due.unwrap_or(before).ceil().max(0.0) as u64;
        let skipped = target.saturating_sub(self.next);
        self.next += skipped;
        skipped
    }

    /// `(index, offset from the start)` of the next arrival, or `None` when
    /// the schedule is over.
    pub(crate) fn next(&mut self) -> Option<(u64, Duration)> {
        let k = self.next as f64;
        loop {
            let seg = self.segments.get(self.current)?;
            if k < self.before + seg.count() {
                break;
            }
            self.before += seg.count();
            self.at += seg.seconds;
            self.current += 1;
        }
        let seg = &self.segments[self.current];
        let x = k - self.before;
        let root = (seg.from * seg.from + 2.0 * (seg.to - seg.from) * x / seg.seconds)
            .max(0.0)
            .sqrt();
        let denominator = seg.from + root;
        let tau = if denominator > 0.0 {
            2.0 * x / denominator
        } else {
            0.0
        };
        let index = self.next;
        self.next += 1;
        Some((
            index,
            Duration::from_secs_f64(self.at + tau.min(seg.seconds)),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stage(secs: f64, target: f64) -> Stage {
        Stage {
            name: None,
            duration: Duration::from_secs_f64(secs),
            target,
        }
    }

    fn all(mut a: Arrivals) -> Vec<f64> {
        std::iter::from_fn(|| a.next().map(|(_, t)| t.as_secs_f64())).collect()
    }

    #[test]
    fn constant_rate_is_evenly_spaced() {
        let times = all(Arrivals::new(100.0, &[stage(1.0, 100.0)]));
        assert_eq!(times.len(), 100);
        for (k, t) in times.iter().enumerate() {
            assert!((t - k as f64 / 100.0).abs() < 1e-9, "{k}: {t}");
        }
    }

    #[test]
    fn linear_ramp_follows_the_integral() {
        // 0 → 100/s over 2 s: N(t) = 25 t², 100 arrivals, the 25th at 1 s.
        let times = all(Arrivals::new(0.0, &[stage(2.0, 100.0)]));
        assert_eq!(times.len(), 100);
        assert!((times[25] - 1.0).abs() < 1e-9);
        assert!((times[64] - 1.6).abs() < 1e-9);
        // Ramp down 100 → 0 over 2 s mirrors it.
        let down = all(Arrivals::new(100.0, &[stage(2.0, 0.0)]));
        assert_eq!(down.len(), 100);
        assert!(down.windows(2).all(|w| w[1] > w[0]));
        let gaps: Vec<f64> = down.windows(2).map(|w| w[1] - w[0]).collect();
        assert!(
            gaps.windows(2).all(|g| g[1] >= g[0] - 1e-12),
            "gaps grow as the rate falls"
        );
    }

    #[test]
    fn steps_and_idle_stages() {
        // 10/s for 1 s, step to 100/s for 1 s, nothing for 1 s, 10/s for 1 s.
        let a = Arrivals::new(
            10.0,
            &[
                stage(1.0, 10.0),
                stage(0.0, 100.0),
                stage(1.0, 100.0),
                stage(0.0, 0.0),
                stage(1.0, 0.0),
                stage(0.0, 10.0),
                stage(1.0, 10.0),
            ],
        );
        assert_eq!(a.length(), Duration::from_secs(4));
        assert!((a.expected() - 120.0).abs() < 1e-9);
        let times = all(a);
        assert_eq!(times.len(), 120);
        assert_eq!(times.iter().filter(|t| (2.0..3.0).contains(*t)).count(), 0);
        assert_eq!(
            times.iter().filter(|t| (1.0..2.0).contains(*t)).count(),
            100
        );
    }

    #[test]
    fn skipping_lands_where_walking_would() {
        for stages in [
            vec![stage(10.0, 1e6)],
            vec![stage(2.0, 100.0), stage(0.0, 5e5), stage(3.0, 5e5)],
        ] {
            let start = 50.0;
            for t in [0.0, 0.5, 1.999, 2.5, 4.0, 9.0, 100.0] {
                let offset = Duration::from_secs_f64(t);
                let mut walked = Arrivals::new(start, &stages);
                let mut n = 0u64;
                while let Some((_, due)) = walked.next() {
                    if due >= offset {
                        break;
                    }
                    n += 1;
                    if n > 20_000_000 {
                        break;
                    }
                }
                let mut skipped = Arrivals::new(start, &stages);
                let k = skipped.skip_to(offset);
                // Float rounding at a boundary may differ by one arrival.
                assert!(k.abs_diff(n) <= 1, "t={t}: skipped {k}, walked {n}");
                if let Some((index, due)) = skipped.next() {
                    assert_eq!(index, k);
                    assert!(due.as_secs_f64() >= t - 1e-6, "t={t}: next due {due:?}");
                }
            }
        }
    }
}
