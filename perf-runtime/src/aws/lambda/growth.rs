//! A function's memory growth over repeated invocations: the fitted
//! slope, and whether it is a leak.

/// Memory samples across warm invocations (see
/// [`Function::memory_growth`](super::Function::memory_growth)).
#[derive(Debug, Clone, PartialEq)]
pub struct MemoryGrowth {
    /// `(invocation, bytes)` after each successful invocation.
    pub samples: Vec<(u64, u64)>,
    /// Failed invocations.
    pub errors: u64,
}

impl MemoryGrowth {
    /// Bytes at the first and last sample.
    pub fn first_last(&self) -> Option<(u64, u64)> {
        Some((self.samples.first()?.1, self.samples.last()?.1))
    }

    /// Growth per invocation: the least-squares slope of the samples, in
    /// bytes (0 with fewer than 2 samples). On AWS the samples move in
    /// whole MB, so use enough invocations for a leak to cross a few.
    pub fn bytes_per_invocation(&self) -> f64 {
        let n = self.samples.len() as f64;
        if n < 2.0 {
            return 0.0;
        }
        let mx = self.samples.iter().map(|s| s.0 as f64).sum::<f64>() / n;
        let my = self.samples.iter().map(|s| s.1 as f64).sum::<f64>() / n;
        let (mut sxy, mut sxx) = (0.0, 0.0);
        for &(x, y) in &self.samples {
            sxy += (x as f64 - mx) * (y as f64 - my);
            sxx += (x as f64 - mx) * (x as f64 - mx);
        }
        if sxx == 0.0 {
            0.0
        } else {
            sxy / sxx
        }
    }

    /// Whether memory grows by more than `bytes_per_invocation` per
    /// invocation, and by more than `min_total` bytes over the run (so
    /// allocator noise and one-off caches are not leaks).
    pub fn is_leaking(&self, bytes_per_invocation: f64, min_total: u64) -> bool {
        let slope = self.bytes_per_invocation();
        let span = self.samples.last().map_or(0, |s| s.0) as f64;
        slope > bytes_per_invocation && slope * span > min_total as f64
    }
}
