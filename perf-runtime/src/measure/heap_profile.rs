//! Heap profiles (`heap_profile`): the tracking allocator samples a test's
//! allocations with their call stacks, on average one per `rate` bytes
//! allocated, as tcmalloc and jemalloc do. Each thread counts down a gap
//! drawn from an exponential distribution with mean `rate`; the allocation
//! that crosses zero is sampled and a new gap drawn. An allocation of `s`
//! bytes is thus sampled with probability `1 − e^(−s/rate)`, and each
//! sample stands for `1 / (1 − e^(−s/rate))` allocations of its size, so
//! totals scaled that way are unbiased whatever the sizes.
//!
//! A sampled block is marked in its allocation header (the low bit of the
//! owning scope's address, and the site's number in the header's other
//! word), so that its free takes it out of the site's bytes in use, on
//! whichever thread it happens. Unsampled allocations cost one subtraction
//! and one comparison more; a sampled one an unwinding of the stack and a
//! lock on its scope's table (`benches/alloc.rs` measures both).

use std::cell::Cell;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Mutex, PoisonError};

/// Frames kept per stack (the innermost ones: the allocation's caller is
/// what a profile is read for).
pub(crate) const MAX_DEPTH: usize = 96;

/// Distinct stacks kept per test; samples at further stacks are counted
/// as dropped, and the report says so.
pub(crate) const MAX_SITES: usize = 8_192;

/// How many allocations one sample of `size` bytes stands for.
pub(crate) fn weight(size: usize, rate: u64) -> f64 {
    let s = size.max(1) as f64;
    1.0 / -(-s / rate.max(1) as f64).exp_m1()
}

/// The bytes until the next sample: exponential with mean `rate`, drawn
/// from the thread's generator (0 in `rng` means not yet seeded).
pub(crate) fn next_gap(rng: &Cell<u64>, rate: u64) -> i64 {
    if rate == 0 {
        return i64::MAX;
    }
    let mut x = rng.get();
    if x == 0 {
        // A distinct seed per thread and scope entry (splitmix64 of a
        // counter): no clock or system call inside the allocator.
        static SEEDS: AtomicU64 = AtomicU64::new(0x9E37_79B9_7F4A_7C15);
        let mut z = SEEDS.fetch_add(0x9E37_79B9_7F4A_7C15, Relaxed);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        x = (z ^ (z >> 31)) | 1;
    }
    // xorshift64*
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    rng.set(x);
    let bits = x.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11;
    // Uniform in (0, 1]: never ln(0).
    let u = (bits as f64 + 1.0) / (1u64 << 53) as f64;
    let gap = -u.ln() * rate as f64;
    gap.min(i64::MAX as f64 / 2.0) as i64
}

/// One call stack's sampled allocations, scaled for sampling.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Site {
    /// Return addresses, innermost first (the allocator's own frames
    /// included; symbolising drops them).
    pub(crate) stack: Box<[usize]>,
    /// Samples taken here.
    pub(crate) samples: u64,
    pub(crate) alloc_objects: f64,
    pub(crate) alloc_space: f64,
    pub(crate) inuse_objects: f64,
    pub(crate) inuse_space: f64,
}

#[derive(Default)]
struct Sites {
    index: HashMap<Box<[usize]>, u32>,
    /// Site `n` is `sites[n - 1]` (0 in a header means unsampled).
    sites: Vec<Site>,
    dropped: u64,
}

/// A scope's heap profile while its test runs.
pub(crate) struct HeapTable {
    rate: u64,
    sites: Mutex<Sites>,
}

/// What a finished run's table held.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct HeapSamples {
    pub(crate) rate: u64,
    pub(crate) sites: Vec<Site>,
    /// Samples not kept: their stack would have been past [`MAX_SITES`].
    pub(crate) dropped: u64,
}

impl HeapTable {
    pub(crate) fn new(rate: u64) -> HeapTable {
        HeapTable {
            rate: rate.max(1),
            sites: Mutex::new(Sites::default()),
        }
    }

    pub(crate) fn rate(&self) -> u64 {
        self.rate
    }

    fn sites(&self) -> std::sync::MutexGuard<'_, Sites> {
        self.sites.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Counts a sampled allocation of `size` bytes made from `stack`, and
    /// returns its site's number (0 if the table is full). The caller has
    /// paused attribution: the table's own memory is not the test's.
    pub(crate) fn record(&self, stack: &[usize], size: usize) -> u32 {
        let w = weight(size, self.rate);
        let mut t = self.sites();
        let n = match t.index.get(stack) {
            Some(&n) => n,
            None if t.sites.len() >= MAX_SITES => {
                t.dropped += 1;
                return 0;
            }
            None => {
                let stack: Box<[usize]> = stack.into();
                t.sites.push(Site {
                    stack: stack.clone(),
                    ..Site::default()
                });
                let n = u32::try_from(t.sites.len()).unwrap_or(u32::MAX);
                t.index.insert(stack, n);
                n
            }
        };
        let site = &mut t.sites[n as usize - 1];
        site.samples += 1;
        site.alloc_objects += w;
        site.alloc_space += w * size as f64;
        site.inuse_objects += w;
        site.inuse_space += w * size as f64;
        n
    }

    /// A sampled block of `size` bytes from site `n` was freed.
    pub(crate) fn free(&self, n: u32, size: usize) {
        let w = weight(size, self.rate);
        let mut t = self.sites();
        if let Some(site) = (n as usize).checked_sub(1).and_then(|i| t.sites.get_mut(i)) {
            site.inuse_objects = (site.inuse_objects - w).max(0.0);
            site.inuse_space = (site.inuse_space - w * size as f64).max(0.0);
        }
    }

    /// Samples taken (kept or dropped).
    pub(crate) fn samples(&self) -> u64 {
        let t = self.sites();
        t.sites.iter().map(|s| s.samples).sum::<u64>() + t.dropped
    }

    /// The sites so far (the caller pauses attribution).
    pub(crate) fn snapshot(&self) -> HeapSamples {
        let t = self.sites();
        HeapSamples {
            rate: self.rate,
            sites: t.sites.clone(),
            dropped: t.dropped,
        }
    }
}

/// The return addresses of the current stack, innermost first, into
/// `frames`; how many were written.
#[cfg(all(unix, feature = "heap-profile"))]
pub(crate) fn capture(frames: &mut [usize; MAX_DEPTH]) -> usize {
    let mut n = 0;
    // SAFETY: the unwinder is thread-safe on the platforms this builds on
    // (libgcc's `_Unwind_Backtrace`, as pprof's signal handler uses it);
    // the closure only writes into `frames`, and allocates nothing.
    unsafe {
        backtrace::trace_unsynchronized(|f| {
            frames[n] = f.ip() as usize;
            n += 1;
            n < MAX_DEPTH
        });
    }
    n
}

#[cfg(not(all(unix, feature = "heap-profile")))]
pub(crate) fn capture(_frames: &mut [usize; MAX_DEPTH]) -> usize {
    0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gaps_average_the_rate_and_are_exponential() {
        let rng = Cell::new(0);
        let rate = 512 * 1024;
        let n = 200_000;
        let gaps: Vec<f64> = (0..n).map(|_| next_gap(&rng, rate) as f64).collect();
        let mean = gaps.iter().sum::<f64>() / n as f64;
        // The standard error of the mean of an exponential is rate/√n:
        // 0.22% here; 2% is nine of them.
        assert!((mean / rate as f64 - 1.0).abs() < 0.02, "mean gap {mean}");
        // Exponential: P(gap > rate) = 1/e.
        let above = gaps.iter().filter(|&&g| g > rate as f64).count() as f64 / n as f64;
        assert!((above - (-1f64).exp()).abs() < 0.01, "{above}");
        assert_eq!(next_gap(&rng, 0), i64::MAX, "rate 0 never samples");
    }

    #[test]
    fn scaled_totals_are_unbiased_for_any_size() {
        // Simulate the countdown over allocations of mixed sizes: the
        // scaled sampled bytes estimate the true bytes.
        let rate = 4_096;
        let rng = Cell::new(0);
        let table = HeapTable::new(rate);
        let mut until = next_gap(&rng, rate);
        let (mut bytes, mut count) = (0u64, 0u64);
        for i in 0..400_000u64 {
            let size = [16usize, 200, 4_096, 100_000][(i % 4) as usize];
            let stack = [size, 7];
            bytes += size as u64;
            count += 1;
            until -= size as i64;
            if until < 0 {
                until = next_gap(&rng, rate);
                table.record(&stack, size);
            }
        }
        let s = table.snapshot();
        let space: f64 = s.sites.iter().map(|x| x.alloc_space).sum();
        let objects: f64 = s.sites.iter().map(|x| x.alloc_objects).sum();
        assert!(
            (space / bytes as f64 - 1.0).abs() < 0.03,
            "{space} vs {bytes}"
        );
        // Objects are estimated mostly from the 16-byte ones, ~390
        // samples of 100,000 (5% each, a quarter of the count): 7% is
        // five standard errors.
        assert!(
            (objects / count as f64 - 1.0).abs() < 0.07,
            "{objects} vs {count}"
        );
        // Each size's site estimates its own bytes, within five standard
        // errors of its expected samples (100,000-byte blocks are almost
        // always sampled, 16-byte ones once in 256).
        for site in &s.sites {
            let true_bytes = (site.stack[0] * 100_000) as f64;
            let expected = (true_bytes / rate as f64).min(100_000.0);
            let err = (site.alloc_space / true_bytes - 1.0).abs();
            assert!(err < 5.0 / expected.sqrt(), "size {}: {err}", site.stack[0]);
        }
    }

    #[test]
    fn frees_take_sampled_blocks_out_of_use() {
        let table = HeapTable::new(1_000);
        let a = table.record(&[1, 2, 3], 500);
        let b = table.record(&[1, 2, 3], 500);
        let c = table.record(&[4], 100);
        assert_eq!(a, b);
        assert_ne!(a, c);
        table.free(a, 500);
        let s = table.snapshot();
        let site = &s.sites[a as usize - 1];
        assert_eq!(site.samples, 2);
        let w = weight(500, 1_000);
        assert!((site.alloc_space - 2.0 * w * 500.0).abs() < 1e-6);
        assert!((site.inuse_space - w * 500.0).abs() < 1e-6);
        assert!((site.inuse_objects - w).abs() < 1e-9);
        table.free(0, 10);
        table.free(999, 10);
        assert_eq!(table.snapshot(), s, "unknown sites are ignored");
    }

    #[test]
    fn a_full_table_drops_new_stacks_and_counts_them() {
        let table = HeapTable::new(1);
        for i in 0..MAX_SITES + 5 {
            table.record(&[i], 8);
        }
        assert_eq!(table.record(&[0], 8), 1, "a known stack still counts");
        let s = table.snapshot();
        assert_eq!((s.sites.len(), s.dropped), (MAX_SITES, 5));
    }
}
