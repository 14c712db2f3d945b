//! How many iterations one closed-model latency sample covers: one (the
//! usual case), or a batch per clock pair for bodies far below a
//! microsecond.

/// How many iterations one latency sample covers in the closed model.
///
/// Every sample costs two clock reads and a record, about 50 ns: beside a
/// 400 ns body that is a tenth of what is measured. With [`Batch::Auto`]
/// (the default) each worker times its first iterations one by one, and
/// if they are so short that the clock's measured cost would exceed 1% of
/// a sample, it times batches of k iterations per clock pair from then on
/// (criterion's iterations per sample), k chosen so that the clock is
/// under 1%. Every iteration of a batch is recorded with the batch's mean,
/// so counts, throughput and error rates are per iteration while
/// percentiles are of batch means; the summary says when this happened.
/// Failures inside a batch are counted one by one. A worker whose body
/// tags or notes anything through its `Ctx` stops batching (its notes need
/// their own samples); nor are bodies batched with `iteration_timeout`,
/// worker `stages`, with the tracking allocator installed, or during
/// warm-up, nor in the open model (each arrival
/// has its own start).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Batch {
    /// Batch bodies far below a microsecond (the default).
    #[default]
    Auto,
    /// Every iteration its own sample (`PERF_BATCH=off`).
    Off,
    /// Batches of exactly this many iterations, for a body known to be
    /// tiny (`PERF_BATCH=64`).
    Fixed(u64),
}

pub use perf_spec::MAX_BATCH;

impl Batch {
    /// The iterations per sample for a body whose single-iteration samples
    /// have the median `sample_ns`, when one clock read costs `clock_ns`:
    /// the smallest k with `2 × clock_ns ≤ 1% × k × body`, where the body
    /// is the sample minus the two reads inside it. 1 means not batched.
    pub fn size(self, clock_ns: f64, sample_ns: f64) -> u64 {
        match self {
            Batch::Off => 1,
            Batch::Fixed(k) => k.clamp(1, MAX_BATCH),
            Batch::Auto => {
                let pair = 2.0 * clock_ns.max(0.0);
                let body = (sample_ns - pair).max(1.0);
                if !pair.is_finite() || !body.is_finite() || pair <= 0.01 * body {
                    return 1;
                }
                ((100.0 * pair / body).ceil() as u64).clamp(1, MAX_BATCH)
            }
        }
    }

    /// Parses `PERF_BATCH`: `auto`, `off`, or a whole number of iterations
    /// (1 is `off`).
    pub fn parse(value: &str) -> Result<Batch, String> {
        match value.trim() {
            "auto" => Ok(Batch::Auto),
            "off" | "1" => Ok(Batch::Off),
            v => match v.parse::<u64>() {
                Ok(0) => Err("a batch has at least 1 iteration".into()),
                Ok(k) if k > MAX_BATCH => Err(format!("at most {MAX_BATCH} iterations per batch")),
                Ok(k) => Ok(Batch::Fixed(k)),
                Err(_) => Err("expected `auto`, `off` or a number of iterations".into()),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_make_the_clock_pair_at_most_a_hundredth_of_a_sample() {
        // A 457 ns body with a 25 ns clock read: 50 ns is 11% of it.
        let k = Batch::Auto.size(25.0, 457.0 + 50.0);
        assert_eq!(k, 11);
        assert!(50.0 <= 0.01 * k as f64 * 457.0);
        assert!(50.0 > 0.01 * (k - 1) as f64 * 457.0, "the smallest such k");
        // 5 µs of body per sample already has the clock under 1%.
        assert_eq!(Batch::Auto.size(25.0, 5_050.0), 1);
        assert_eq!(Batch::Auto.size(25.0, 4_000.0), 2);
        // A body too short to see counts as 1 ns, not as a division by zero.
        assert_eq!(Batch::Auto.size(25.0, 10.0), 5_000);
        assert_eq!(Batch::Auto.size(1_000.0, 10.0), MAX_BATCH);
        // A clock that could not be measured does not batch.
        assert_eq!(Batch::Auto.size(f64::NAN, 100.0), 1);
        assert_eq!(Batch::Auto.size(0.0, 100.0), 1);
        assert_eq!(Batch::Off.size(25.0, 100.0), 1);
        assert_eq!(Batch::Fixed(64).size(25.0, 1e9), 64);
    }

    #[test]
    fn perf_batch_values() {
        assert_eq!(Batch::parse("auto"), Ok(Batch::Auto));
        assert_eq!(Batch::parse(" off "), Ok(Batch::Off));
        assert_eq!(Batch::parse("1"), Ok(Batch::Off));
        assert_eq!(Batch::parse("64"), Ok(Batch::Fixed(64)));
        for bad in ["0", "-3", "lots", "100001"] {
            assert!(Batch::parse(bad).is_err(), "{bad}");
        }
    }
}
