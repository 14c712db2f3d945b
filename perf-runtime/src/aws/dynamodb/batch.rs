//! Batch writes and reads with backoff: unprocessed items retried under
//! a budget, throttles counted, capacity summed.

use super::*;

/// How batches are sent. The default sends up to 25 batches at
/// once and retries unprocessed items 3 times, backing off from 100 ms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchOptions {
    /// Requests in flight at once.
    pub max_concurrency: usize,
    /// Retries of unprocessed items and throttled requests.
    pub backoff: Backoff,
}

impl Default for BatchOptions {
    fn default() -> Self {
        BatchOptions {
            max_concurrency: 25,
            backoff: Backoff::default(),
        }
    }
}

/// What a batch operation did. Every input is either processed or in
/// `failed`, with the reason in `errors`.
#[derive(Debug, Clone, PartialEq)]
pub struct BatchOutcome<T> {
    /// Requests sent, retries included.
    pub attempts: u64,
    /// Requests that were retries (of unprocessed items or of a throttled
    /// request).
    pub retries: u64,
    /// Inputs processed.
    pub processed: u64,
    /// Inputs never processed.
    pub failed: Vec<T>,
    /// Why requests failed (one line each), including the final
    /// "still unprocessed after N retries".
    pub errors: Vec<String>,
    /// Capacity units consumed, as reported.
    pub consumed_capacity: f64,
    /// What reads returned (items for `batch_get`).
    pub output: Vec<Item>,
    /// Wall time.
    pub elapsed: Duration,
}

impl<T> BatchOutcome<T> {
    fn empty() -> Self {
        BatchOutcome {
            attempts: 0,
            retries: 0,
            processed: 0,
            failed: Vec::new(),
            errors: Vec::new(),
            consumed_capacity: 0.0,
            output: Vec::new(),
            elapsed: Duration::ZERO,
        }
    }

    pub(crate) fn map_failed<U>(self, f: impl FnMut(T) -> U) -> BatchOutcome<U> {
        BatchOutcome {
            attempts: self.attempts,
            retries: self.retries,
            processed: self.processed,
            failed: self.failed.into_iter().map(f).collect(),
            errors: self.errors,
            consumed_capacity: self.consumed_capacity,
            output: self.output,
            elapsed: self.elapsed,
        }
    }

    /// Whether every input was processed.
    pub fn is_complete(&self) -> bool {
        self.failed.is_empty()
    }
}

impl<T> fmt::Display for BatchOutcome<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} processed, {} failed; {} requests ({} retries); {:.1} capacity units; {:.0?}",
            self.processed,
            self.failed.len(),
            self.attempts,
            self.retries,
            self.consumed_capacity,
            self.elapsed
        )
    }
}

/// What one request did with its chunk.
pub(crate) struct Sent<T> {
    pub(crate) unprocessed: Vec<T>,
    pub(crate) consumed: f64,
    pub(crate) output: Vec<Item>,
}

/// Splits `inputs` into chunks of `size`, sends up to `max_concurrency` at
/// once with `send`, and retries each chunk's unprocessed inputs (or the
/// whole chunk after a throttle) with backoff, `max_retries` times.
pub(crate) async fn run_batches<T, F, Fut>(
    inputs: Vec<T>,
    size: usize,
    options: &BatchOptions,
    send: F,
) -> BatchOutcome<T>
where
    T: Clone,
    F: Fn(Vec<T>) -> Fut,
    Fut: Future<Output = Result<Sent<T>, DynamoError>>,
{
    let start = Instant::now();
    let mut chunks = Vec::new();
    let mut inputs = inputs.into_iter().peekable();
    while inputs.peek().is_some() {
        chunks.push(inputs.by_ref().take(size).collect::<Vec<T>>());
    }
    let send = &send;
    let per_chunk = stream::iter(chunks)
        .map(|chunk| async move {
            let mut outcome = BatchOutcome::empty();
            let mut pending = chunk;
            let mut retry = 0;
            loop {
                outcome.attempts += 1;
                let sent_len = pending.len() as u64;
                match send(pending.clone()).await {
                    Ok(sent) => {
                        outcome.processed += sent_len - sent.unprocessed.len() as u64;
                        outcome.consumed_capacity += sent.consumed;
                        outcome.output.extend(sent.output);
                        pending = sent.unprocessed;
                        if pending.is_empty() {
                            break;
                        }
                    }
                    Err(e @ DynamoError::Throttled(_)) if retry < options.backoff.max_retries => {
                        outcome.errors.push(e.to_string());
                    }
                    Err(e) => {
                        outcome.errors.push(e.to_string());
                        break;
                    }
                }
                if retry == options.backoff.max_retries {
                    outcome.errors.push(format!(
                        "{} still unprocessed after {retry} retries",
                        pending.len()
                    ));
                    break;
                }
                retry += 1;
                outcome.retries += 1;
                options.backoff.wait(retry).await;
            }
            outcome.failed = pending;
            outcome
        })
        .buffer_unordered(options.max_concurrency.max(1))
        .collect::<Vec<_>>()
        .await;
    let mut total = BatchOutcome::empty();
    for o in per_chunk {
        total.attempts += o.attempts;
        total.retries += o.retries;
        total.processed += o.processed;
        total.failed.extend(o.failed);
        total.errors.extend(o.errors);
        total.consumed_capacity += o.consumed_capacity;
        total.output.extend(o.output);
    }
    total.elapsed = start.elapsed();
    total
}

/// A query or scan run to completion.
#[derive(Debug, Clone, PartialEq)]
pub struct ReadStats {
    /// `query`, `scan`, or `query <index>`.
    pub label: String,
    /// Items returned.
    pub items: u64,
    /// Items read before filtering.
    pub scanned: u64,
    /// Pages (requests).
    pub pages: u64,
    /// Capacity units consumed, as reported.
    pub consumed_capacity: f64,
    /// Wall time, all pages.
    pub elapsed: Duration,
}

impl ReadStats {
    pub(crate) fn new(label: String) -> ReadStats {
        ReadStats {
            label,
            items: 0,
            scanned: 0,
            pages: 0,
            consumed_capacity: 0.0,
            elapsed: Duration::ZERO,
        }
    }

    pub(crate) fn add_page(
        &mut self,
        count: i32,
        scanned: i32,
        consumed: Option<&ConsumedCapacity>,
    ) {
        self.pages += 1;
        self.items += count.max(0) as u64;
        self.scanned += scanned.max(0) as u64;
        self.consumed_capacity += capacity(consumed);
    }

    /// Items returned per second of wall time.
    pub fn items_per_second(&self) -> f64 {
        self.items as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    /// Capacity units per item returned (`NaN` if none).
    pub fn capacity_per_item(&self) -> f64 {
        if self.items == 0 {
            f64::NAN
        } else {
            self.consumed_capacity / self.items as f64
        }
    }
}

impl fmt::Display for ReadStats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:<16} {:>6} items ({:>6} scanned) in {:>3} pages, {:>8.1?}: {:>8.0} items/s, {:.3} capacity units/item",
            self.label,
            self.items,
            self.scanned,
            self.pages,
            self.elapsed,
            self.items_per_second(),
            self.capacity_per_item()
        )
    }
}
