//! The run, second by second: counts and a latency histogram per second of
//! the measured phase, for per-window thresholds and for plots.
//!
//! Per-second histograms keep 2 significant digits (values within 1%) with a
//! 1 µs floor and 32-bit counts: about 7 KiB a second for latencies up to a
//! second, so an hour-long run costs ~25 MiB, not the ~150 MiB that 3 digits
//! would. Whole-run figures keep 3 digits.

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

use crate::model::measured::new_histogram;

/// One second of the run.
#[derive(Clone)]
pub(crate) struct Second {
    pub(crate) latency: Histogram<u32>,
    pub(crate) iterations: u64,
    pub(crate) errors: u64,
    pub(crate) dropped: u64,
}

impl Second {
    pub(crate) fn new() -> Self {
        let mut latency =
            Histogram::new_with_bounds(1_000, 2_000, 2).expect("valid histogram bounds");
        latency.auto(true);
        Second {
            latency,
            iterations: 0,
            errors: 0,
            dropped: 0,
        }
    }

    /// Adds every count of a whole-run histogram (3 digits) to this
    /// second's (2 digits).
    pub(crate) fn add_histogram(&mut self, h: &Histogram<u64>) {
        for v in h.iter_recorded() {
            let count = u32::try_from(v.count_at_value()).unwrap_or(u32::MAX);
            self.latency
                .record_n(v.value_iterated_to(), count)
                .expect("auto-resizing histograms accept values up to their limit");
        }
    }

    #[cfg(test)]
    pub(crate) fn record(&mut self, nanos: u64, error: bool) {
        self.record_n(nanos, 1);
        self.errors += u64::from(error);
    }

    /// `n` iterations of this latency (a batch), none failed.
    pub(crate) fn record_n(&mut self, nanos: u64, n: u64) {
        let count = u32::try_from(n).unwrap_or(u32::MAX);
        self.latency
            .record_n(nanos.min(crate::model::measured::MAX_LATENCY_NS), count)
            .expect("auto-resizing histograms accept values up to their limit");
        self.iterations += n;
    }

    pub(crate) fn from_parts(
        latency: Histogram<u32>,
        iterations: u64,
        errors: u64,
        dropped: u64,
    ) -> Second {
        let mut second = Second::new();
        second
            .latency
            .add(&latency)
            .expect("auto-resizing histograms always merge");
        second.iterations = iterations;
        second.errors = errors;
        second.dropped = dropped;
        second
    }

    fn add(&mut self, other: &Second) {
        self.latency
            .add(&other.latency)
            .expect("auto-resizing histograms always merge");
        self.iterations += other.iterations;
        self.errors += other.errors;
        self.dropped += other.dropped;
    }
}

/// Figures over a span of seconds.
#[derive(Clone)]
pub(crate) struct Window {
    pub(crate) start: u32,
    pub(crate) seconds: u32,
    pub(crate) latency: Histogram<u64>,
    pub(crate) iterations: u64,
    pub(crate) errors: u64,
    pub(crate) dropped: u64,
}

/// A second's latencies at the whole-run precision, as [`Window::add`]
/// records them (so that they can be subtracted again).
fn widened(s: &Second) -> Histogram<u64> {
    let mut h = new_histogram();
    for v in s.latency.iter_recorded() {
        h.record_n(v.value_iterated_to(), u64::from(v.count_at_value()))
            .expect("auto-resizing histograms accept values up to their limit");
    }
    h
}

impl Window {
    fn add(&mut self, s: &Second) {
        for v in s.latency.iter_recorded() {
            self.latency
                .record_n(v.value_iterated_to(), u64::from(v.count_at_value()))
                .expect("auto-resizing histograms accept values up to their limit");
        }
        self.iterations += s.iterations;
        self.errors += s.errors;
        self.dropped += s.dropped;
    }

    /// Takes out a second that [`add`](Self::add) put in.
    fn remove(&mut self, s: &Second) {
        self.latency
            .subtract(widened(s))
            .expect("a second added to a window can be taken out of it");
        self.iterations -= s.iterations;
        self.errors -= s.errors;
        self.dropped -= s.dropped;
    }
}

/// Every second of a run, indexed from the start of the measured phase.
#[derive(Default, Clone)]
pub(crate) struct Timeline {
    seconds: Vec<Second>,
}

impl Timeline {
    pub(crate) fn second_mut(&mut self, sec: u32) -> &mut Second {
        let i = sec as usize;
        if self.seconds.len() <= i {
            self.seconds.resize_with(i + 1, Second::new);
        }
        &mut self.seconds[i]
    }

    pub(crate) fn seconds(&self) -> &[Second] {
        &self.seconds
    }

    pub(crate) fn add(&mut self, sec: u32, second: &Second) {
        self.second_mut(sec).add(second);
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> u32 {
        self.seconds.len() as u32
    }

    /// Seconds `[start, start + len)` merged.
    pub(crate) fn window(&self, start: u32, len: u32) -> Window {
        let mut w = Window {
            start,
            seconds: len,
            latency: new_histogram(),
            iterations: 0,
            errors: 0,
            dropped: 0,
        };
        for s in self.seconds.iter().skip(start as usize).take(len as usize) {
            w.add(s);
        }
        w
    }

    /// Every full window of `len` seconds within the first `complete`
    /// seconds, sliding by one second.
    ///
    /// Each window is the one before it plus the second that enters minus
    /// the one that leaves, so the work is linear in the run's length
    /// whatever the window's (a `per "30m"` threshold over a day-long run
    /// once merged 1,800 seconds for each of 84,600 windows).
    pub(crate) fn windows(&self, len: u32, complete: u32) -> impl Iterator<Item = Window> + '_ {
        let last_start = complete.checked_sub(len).map(|n| n + 1).unwrap_or(0);
        let mut current: Option<Window> = None;
        (0..last_start).map(move |start| {
            let w = match current.take() {
                None => self.window(start, len),
                Some(mut w) => {
                    let leaving = start as usize - 1;
                    let entering = (start + len) as usize - 1;
                    if let Some(s) = self.seconds.get(leaving) {
                        w.remove(s);
                    }
                    if let Some(s) = self.seconds.get(entering) {
                        w.add(s);
                    }
                    w.start = start;
                    w
                }
            };
            current = Some(w.clone());
            w
        })
    }

    /// The per-second figures for the report.
    pub(crate) fn points(&self) -> Vec<TimelinePoint> {
        let q = |h: &Histogram<u32>, p: f64| {
            if h.is_empty() {
                0
            } else {
                h.value_at_quantile(p)
            }
        };
        self.seconds
            .iter()
            .enumerate()
            .map(|(i, s)| TimelinePoint {
                second: i as u32,
                iterations: s.iterations,
                errors: s.errors,
                dropped: s.dropped,
                p50_ns: q(&s.latency, 0.5),
                p95_ns: q(&s.latency, 0.95),
                p99_ns: q(&s.latency, 0.99),
                max_ns: if s.latency.is_empty() {
                    0
                } else {
                    s.latency.max()
                },
                cpu_cores: None,
                rss_bytes: None,
            })
            .collect()
    }
}

/// Puts each second's resource sample (the one ending in it) beside its
/// latencies.
pub(crate) fn add_resources(
    points: &mut [TimelinePoint],
    resources: Option<&crate::model::resources::Resources>,
) {
    let Some(r) = resources else {
        return;
    };
    for p in points {
        // A sample covers the interval ending at `at_s`: second `s` is the
        // one ending in `(s, s + 1]` (the mark at the phase's start makes
        // them land on whole seconds, within the sampler's slack).
        let s = f64::from(p.second);
        if let Some(sample) = r
            .samples
            .iter()
            .find(|x| x.at_s > s + 0.05 && x.at_s <= s + 1.05)
        {
            p.cpu_cores = Some(sample.cpu_cores);
            p.rss_bytes = Some(sample.rss_bytes);
        }
    }
}

/// One second of the run in the report (2 significant digits).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TimelinePoint {
    /// Seconds since the measured phase started (this point covers
    /// `[second, second + 1)`; iterations are placed by their end time).
    pub second: u32,
    /// Iterations that ended in this second.
    pub iterations: u64,
    /// Of which failed.
    pub errors: u64,
    /// Iterations dropped (open model) in this second.
    pub dropped: u64,
    /// Median latency, nanoseconds.
    pub p50_ns: u64,
    /// 95th percentile, nanoseconds.
    pub p95_ns: u64,
    /// 99th percentile, nanoseconds.
    pub p99_ns: u64,
    /// Slowest, nanoseconds.
    pub max_ns: u64,
    /// CPU the test process used in this second, as a share of one core
    /// (resource sampling).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_cores: Option<f64>,
    /// Its resident set size at the second's end, bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rss_bytes: Option<u64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_second_gets_the_resource_reading_that_ends_in_it() {
        let mut t = Timeline::default();
        for sec in 0..3u32 {
            t.second_mut(sec).record(1_000, false);
        }
        let mut points = t.points();
        let sample = |at_s: f64, cpu_cores: f64| crate::model::resources::ResourceSample {
            at_s,
            cpu_cores,
            rss_bytes: 7,
            threads: 1,
            net_sent_bytes: 0,
            net_recv_bytes: 0,
        };
        let r: crate::model::resources::Resources = serde_json::from_value(serde_json::json!({
            "cores": 2.0, "cpu_seconds": 0.0, "cpu_user_seconds": 0.0, "cpu_avg": 0.0,
            "cpu_max": 0.0, "rss_peak_bytes": 0, "threads_max": 0, "voluntary_switches": 0,
            "involuntary_switches": 0, "net": null, "saturated_s": 0.0, "samples": []
        }))
        .unwrap();
        let r = crate::model::resources::Resources {
            // Second 1 has no reading (the sampler was late); a reading
            // 30 ms late still counts for its second.
            samples: vec![sample(1.03, 0.5), sample(3.0, 1.5)],
            ..r
        };
        add_resources(&mut points, Some(&r));
        let cpu: Vec<Option<f64>> = points.iter().map(|p| p.cpu_cores).collect();
        assert_eq!(cpu, [Some(0.5), None, Some(1.5)]);
        assert_eq!(points[0].rss_bytes, Some(7));
        add_resources(&mut points[1..2], None);
        assert_eq!(points[1].cpu_cores, None);
    }

    #[test]
    fn sliding_windows_cover_full_windows_only() {
        let mut t = Timeline::default();
        for sec in 0..10u32 {
            for _ in 0..=sec {
                t.second_mut(sec)
                    .record(1_000_000 * (u64::from(sec) + 1), sec == 7);
            }
        }
        let w: Vec<Window> = t.windows(3, 10).collect();
        assert_eq!(w.len(), 8);
        assert_eq!((w[0].start, w[0].iterations), (0, 1 + 2 + 3));
        assert_eq!(
            (w[7].start, w[7].iterations, w[7].errors),
            (7, 8 + 9 + 10, 8)
        );
        // Windows never reach into incomplete seconds.
        assert_eq!(t.windows(3, 5).count(), 3);
        // Sliding gives what building each window afresh gives.
        for (i, w) in t.windows(3, 10).enumerate() {
            let fresh = t.window(i as u32, 3);
            assert_eq!(w.start, fresh.start);
            assert_eq!(w.latency, fresh.latency, "window {i}");
            assert_eq!(w.latency.max(), fresh.latency.max(), "window {i}");
            assert_eq!(w.latency.min(), fresh.latency.min(), "window {i}");
            assert_eq!(
                (w.iterations, w.errors, w.dropped),
                (fresh.iterations, fresh.errors, fresh.dropped)
            );
        }
        assert_eq!(t.windows(11, 10).count(), 0);
        let max = w[7].latency.max();
        assert!((max as f64 - 10e6).abs() / 10e6 < 0.01, "{max}");
    }
}
