//! What an iteration knows about itself.

use crate::measure::names::intern;

/// The context passed to an iteration: which worker runs it and which
/// iteration it is.
///
/// Take it by value (`ctx: Ctx`) or by reference (`ctx: &Ctx`).
#[derive(Debug, Clone)]
pub struct Ctx {
    pub(crate) worker: usize,
    pub(crate) workers: usize,
    pub(crate) iteration: u64,
    pub(crate) warmup: bool,
    pub(crate) shard: Option<crate::model::shard::Shard>,
}

impl Ctx {
    /// The worker running this iteration, in `0..workers()`.
    pub fn worker(&self) -> usize {
        self.worker
    }

    /// How many workers this run has (after environment overrides).
    pub fn workers(&self) -> usize {
        self.workers
    }

    /// This iteration's index, unique within the run (warm-up and measured
    /// phases count separately). With `repeat = N` the measured indices are
    /// exactly `0..N`; with `duration` they are unique but may have gaps at
    /// the end, since workers claim indices in small blocks.
    pub fn iteration(&self) -> u64 {
        self.iteration
    }

    /// The shard this run is, in a distributed test (`None` otherwise).
    /// [`iteration`](Self::iteration) counts within the shard, so
    /// `(shard.index, iteration)` is unique across the whole test; seed
    /// anything random with [`Shard::seed`](crate::shard::Shard::seed).
    pub fn shard(&self) -> Option<crate::model::shard::Shard> {
        self.shard
    }

    /// Whether this iteration belongs to the warm-up (not recorded).
    pub fn is_warmup(&self) -> bool {
        self.warmup
    }

    /// Tags this iteration's sample (the last tag given wins): each tag gets
    /// its own latency figures, and thresholds can target it
    /// (`p95 for "cold" < "1s"`). Typical: `ctx.tag("cold")` on a Lambda
    /// cold start.
    ///
    /// The tag may be made at run time (`ctx.tag(status.as_str())`,
    /// `ctx.tag(format!("{region}"))`): each distinct value is interned
    /// once, and after that tagging allocates nothing, as with a literal.
    /// Keep tags to a few dozen values (each has its own histogram); past
    /// [`MAX_NAMES`](crate::names::MAX_NAMES) distinct names a process
    /// records further ones as [`OVERFLOW`](crate::names::OVERFLOW).
    pub fn tag(&self, tag: impl AsRef<str>) {
        crate::measure::notes::tag(intern(tag.as_ref()));
    }

    /// The class of this iteration's error, if it fails (`throttle`,
    /// `function_error`, …): classes are counted separately and can be
    /// thresholds (`throttle_rate < 0.001`). Without it, a failed iteration
    /// is `error`, `panic` or `timeout`. Like a [tag](Self::tag), the class
    /// may be made at run time (`ctx.error_class(err.code())`).
    pub fn error_class(&self, class: impl AsRef<str>) {
        crate::measure::notes::class(intern(class.as_ref()));
    }

    /// Records a value of a custom metric (count, sum, min, max, mean in
    /// the report): `ctx.record("consumed_rcu", 0.5)`. The name may be
    /// made at run time, as a [tag](Self::tag)'s.
    pub fn record(&self, metric: impl AsRef<str>, value: f64) {
        let metric = intern(metric.as_ref());
        crate::measure::notes::value(metric, crate::measure::notes::Value::Number(value));
    }

    /// Records a duration of a custom metric (an HDR histogram with
    /// percentiles in the report): `ctx.record_duration("init", d)`.
    pub fn record_duration(&self, metric: impl AsRef<str>, duration: std::time::Duration) {
        let metric = intern(metric.as_ref());
        crate::measure::notes::value(metric, crate::measure::notes::Value::Duration(duration));
    }

    /// Think time: waits `d` without counting it as latency (a user
    /// reading the page between two requests; k6's `sleep`, Gatling's
    /// `pause`). Without it, `sleep(100ms)` between calls makes p95 110 ms.
    pub async fn think(&self, d: std::time::Duration) {
        let start = std::time::Instant::now();
        tokio::time::sleep(d).await;
        crate::measure::notes::untimed(start.elapsed().as_nanos() as u64);
    }

    /// Runs `work` outside the timer: its time is not the iteration's
    /// latency (per-iteration input built before the measured call, as
    /// criterion's `iter_batched` does; its allocations still count).
    /// Work in a closure before its `async` block is untimed too, and its
    /// allocations are not counted.
    pub async fn untimed<F: std::future::Future>(&self, work: F) -> F::Output {
        let start = std::time::Instant::now();
        let out = work.await;
        crate::measure::notes::untimed(start.elapsed().as_nanos() as u64);
        out
    }

    /// Adds to a custom counter (its total in the report):
    /// `ctx.count("retries", 2)`.
    pub fn count(&self, metric: impl AsRef<str>, n: u64) {
        let metric = intern(metric.as_ref());
        crate::measure::notes::value(metric, crate::measure::notes::Value::Count(n));
    }
}
