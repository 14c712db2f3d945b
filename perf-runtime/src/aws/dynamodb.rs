//! DynamoDB measurements (cargo feature `dynamodb`): measured items with
//! consumed capacity, throttles as their own error class, batch helpers
//! that retry unprocessed items with backoff and never drop one silently,
//! and paginated query/scan statistics.
//!
//! Every measured call asks for `ReturnConsumedCapacity::Total` and records
//! it as a custom metric (`consumed_rcu` for reads, `consumed_wcu` for
//! writes). Throttling (`ProvisionedThroughputExceededException`,
//! `ThrottlingException`, `RequestLimitExceeded`) is class `throttle`, so
//! `throttle_rate < 0.001` is a threshold; a client timeout is `timeout`.

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::error::ProvideErrorMetadata;
use aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder;
use aws_sdk_dynamodb::operation::scan::builders::ScanFluentBuilder;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, ConsumedCapacity, GlobalSecondaryIndex,
    KeySchemaElement, KeyType, KeysAndAttributes, Projection, ProjectionType, PutRequest,
    ReturnConsumedCapacity, ScalarAttributeType, WriteRequest,
};
use aws_sdk_dynamodb::Client;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use futures_util::stream::{self, StreamExt};

use super::{Backoff, HttpTuning};
use crate::Ctx;

/// A DynamoDB item (or key).
pub type Item = HashMap<String, AttributeValue>;

/// Error codes DynamoDB uses for throttling.
pub const THROTTLE_CODES: [&str; 3] = [
    "ProvisionedThroughputExceededException",
    "ThrottlingException",
    "RequestLimitExceeded",
];

/// A failed DynamoDB call, by class.
#[derive(Clone, PartialEq, thiserror::Error)]
pub enum DynamoError {
    /// Throttled (class `throttle`).
    #[error("throttled: {0}")]
    Throttled(String),
    /// The client's timeout (class `timeout`).
    #[error("timed out: {0}")]
    Timeout(String),
    /// Anything else (class `error`).
    #[error("{0}")]
    Other(String),
}

/// As its `Display`: iteration errors are reported with `Debug`, and this
/// is what a person wants to read there.
impl std::fmt::Debug for DynamoError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Display::fmt(self, f)
    }
}

impl DynamoError {
    /// The error class recorded for it.
    pub fn class(&self) -> &'static str {
        match self {
            DynamoError::Throttled(_) => "throttle",
            DynamoError::Timeout(_) => "timeout",
            DynamoError::Other(_) => "error",
        }
    }

    fn from_sdk<E>(err: SdkError<E, HttpResponse>) -> DynamoError
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
    {
        let text = super::error_chain(&err);
        if super::transport_class(&err).is_some() {
            DynamoError::Timeout(text)
        } else if err.code().is_some_and(|c| THROTTLE_CODES.contains(&c)) {
            DynamoError::Throttled(text)
        } else {
            DynamoError::Other(text)
        }
    }
}

/// One table and a client for it.
#[derive(Debug, Clone)]
pub struct Table {
    client: Client,
    name: String,
}

impl Table {
    /// A table reached through `client`.
    pub fn new(client: Client, name: impl Into<String>) -> Table {
        Table {
            client,
            name: name.into(),
        }
    }

    /// A table reached through a measurement client (one attempt per call,
    /// see [`sdk_config`](super::sdk_config)) with the given HTTP settings.
    pub async fn connect(name: impl Into<String>, tuning: &HttpTuning) -> Table {
        Table::new(Client::new(&super::sdk_config(tuning).await), name)
    }

    /// The table's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The client.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// `PutItem` as one iteration's work: records `consumed_wcu` and, on
    /// failure, the error class.
    pub async fn put_item(&self, ctx: &Ctx, item: Item) -> Result<(), DynamoError> {
        let result = self
            .client
            .put_item()
            .table_name(&self.name)
            .set_item(Some(item))
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .send()
            .await;
        match result {
            Ok(out) => {
                ctx.record("consumed_wcu", capacity(out.consumed_capacity()));
                Ok(())
            }
            Err(e) => Err(noted(ctx, DynamoError::from_sdk(e))),
        }
    }

    /// `GetItem` as one iteration's work: records `consumed_rcu` and, on
    /// failure, the error class.
    pub async fn get_item(
        &self,
        ctx: &Ctx,
        key: Item,
        consistent: bool,
    ) -> Result<Option<Item>, DynamoError> {
        let result = self
            .client
            .get_item()
            .table_name(&self.name)
            .set_key(Some(key))
            .consistent_read(consistent)
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .send()
            .await;
        match result {
            Ok(out) => {
                ctx.record("consumed_rcu", capacity(out.consumed_capacity()));
                Ok(out.item)
            }
            Err(e) => Err(noted(ctx, DynamoError::from_sdk(e))),
        }
    }

    /// Writes `items` with `BatchWriteItem`, 25 per request, up to
    /// `options.max_concurrency` requests at once, retrying unprocessed
    /// items (and throttled requests) with backoff. Items still unwritten
    /// after the last retry are in the outcome's `failed`.
    pub async fn batch_write(
        &self,
        items: Vec<Item>,
        options: &BatchOptions,
    ) -> BatchOutcome<Item> {
        let requests: Vec<WriteRequest> = items
            .into_iter()
            .map(|item| {
                WriteRequest::builder()
                    .put_request(
                        PutRequest::builder()
                            .set_item(Some(item))
                            .build()
                            .expect("an item is set"),
                    )
                    .build()
            })
            .collect();
        let outcome = run_batches(requests, 25, options, |chunk| async move {
            let out = self
                .client
                .batch_write_item()
                .request_items(&self.name, chunk)
                .return_consumed_capacity(ReturnConsumedCapacity::Total)
                .send()
                .await
                .map_err(DynamoError::from_sdk)?;
            let unprocessed = out
                .unprocessed_items()
                .and_then(|u| u.get(&self.name))
                .cloned()
                .unwrap_or_default();
            let consumed = total_capacity(out.consumed_capacity());
            Ok(Sent {
                unprocessed,
                consumed,
                output: Vec::new(),
            })
        })
        .await;
        outcome.map_failed(|w| w.put_request.map(|p| p.item).unwrap_or_default())
    }

    /// Reads `keys` with `BatchGetItem`, 100 per request, like
    /// [`batch_write`](Self::batch_write); the items read are the outcome's
    /// `output`, keys never read its `failed`.
    pub async fn batch_get(&self, keys: Vec<Item>, options: &BatchOptions) -> BatchOutcome<Item> {
        run_batches(keys, 100, options, |chunk| async move {
            let request = KeysAndAttributes::builder()
                .set_keys(Some(chunk))
                .build()
                .expect("keys are set");
            let out = self
                .client
                .batch_get_item()
                .request_items(&self.name, request)
                .return_consumed_capacity(ReturnConsumedCapacity::Total)
                .send()
                .await
                .map_err(DynamoError::from_sdk)?;
            let unprocessed = out
                .unprocessed_keys()
                .and_then(|u| u.get(&self.name))
                .map(|k| k.keys().to_vec())
                .unwrap_or_default();
            let output = out
                .responses()
                .and_then(|r| r.get(&self.name))
                .cloned()
                .unwrap_or_default();
            let consumed = total_capacity(out.consumed_capacity());
            Ok(Sent {
                unprocessed,
                consumed,
                output,
            })
        })
        .await
    }

    /// Runs a query to completion (every page), with consumed capacity.
    pub async fn query_all(&self, query: QueryFluentBuilder) -> Result<ReadStats, DynamoError> {
        read_all!(self, query, "query")
    }

    /// Runs a scan to completion (every page), with consumed capacity.
    pub async fn scan_all(&self, scan: ScanFluentBuilder) -> Result<ReadStats, DynamoError> {
        read_all!(self, scan, "scan")
    }
}

/// A query or scan builder run page by page into [`ReadStats`] (the two
/// SDK operations share this shape but no type).
macro_rules! read_all {
    ($table:expr, $request:expr, $kind:literal) => {{
        let request = $request;
        let label = match request.get_index_name() {
            Some(index) => format!(concat!($kind, " {}"), index),
            None => $kind.to_owned(),
        };
        let start = Instant::now();
        let mut stats = ReadStats::new(label);
        let mut pages = request
            .table_name(&$table.name)
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(DynamoError::from_sdk)?;
            stats.add_page(page.count(), page.scanned_count(), page.consumed_capacity());
        }
        stats.elapsed = start.elapsed();
        Ok(stats)
    }};
}
use read_all;

fn noted(ctx: &Ctx, e: DynamoError) -> DynamoError {
    ctx.error_class(e.class());
    e
}

/// Capacity units over every table a batch request touched.
fn total_capacity(all: &[ConsumedCapacity]) -> f64 {
    all.iter().map(|c| c.capacity_units().unwrap_or(0.0)).sum()
}

fn capacity(c: Option<&ConsumedCapacity>) -> f64 {
    c.and_then(ConsumedCapacity::capacity_units).unwrap_or(0.0)
}

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

    fn map_failed<U>(self, f: impl FnMut(T) -> U) -> BatchOutcome<U> {
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
    fn new(label: String) -> ReadStats {
        ReadStats {
            label,
            items: 0,
            scanned: 0,
            pages: 0,
            consumed_capacity: 0.0,
            elapsed: Duration::ZERO,
        }
    }

    fn add_page(&mut self, count: i32, scanned: i32, consumed: Option<&ConsumedCapacity>) {
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

/// A table made for one test: unique name, on-demand billing, deleted
/// when dropped (also when the test panics). Its key attributes are
/// declared with [`ScratchTable::builder`].
///
/// ```no_run
/// # async fn f(client: aws_sdk_dynamodb::Client) {
/// use aws_sdk_dynamodb::types::ScalarAttributeType::{N, S};
/// use perf_runtime::aws::dynamodb::ScratchTable;
///
/// let orders = ScratchTable::builder("orders")
///     .key("pk", S)
///     .sort_key("sk", N)
///     .index("by_status", ("status", S), Some(("sk", N)))
///     .create(&client)
///     .await
///     .unwrap();
/// let table = orders.table(); // a `Table` for measured calls
/// # }
/// ```
#[derive(Debug)]
pub struct ScratchTable {
    table: Table,
}

/// A key attribute: name and type.
type KeyAttr = (String, ScalarAttributeType);

/// The key schema of a [`ScratchTable`].
#[derive(Debug, Clone)]
pub struct ScratchTableBuilder {
    prefix: String,
    key: Option<(String, ScalarAttributeType)>,
    sort_key: Option<(String, ScalarAttributeType)>,
    /// `(index name, partition key, sort key)`.
    indexes: Vec<(String, KeyAttr, Option<KeyAttr>)>,
}

impl ScratchTable {
    /// A table named `<prefix>-<pid>-<nanos>`.
    pub fn builder(prefix: impl Into<String>) -> ScratchTableBuilder {
        ScratchTableBuilder {
            prefix: prefix.into(),
            key: None,
            sort_key: None,
            indexes: Vec::new(),
        }
    }

    /// The table, for measured calls.
    pub fn table(&self) -> &Table {
        &self.table
    }

    /// Its unique name.
    pub fn name(&self) -> &str {
        &self.table.name
    }
}

impl ScratchTableBuilder {
    /// The partition key (required).
    pub fn key(mut self, name: &str, ty: ScalarAttributeType) -> Self {
        self.key = Some((name.to_owned(), ty));
        self
    }

    /// The sort key.
    pub fn sort_key(mut self, name: &str, ty: ScalarAttributeType) -> Self {
        self.sort_key = Some((name.to_owned(), ty));
        self
    }

    /// A global secondary index projecting all attributes.
    pub fn index(
        mut self,
        name: &str,
        key: (&str, ScalarAttributeType),
        sort_key: Option<(&str, ScalarAttributeType)>,
    ) -> Self {
        self.indexes.push((
            name.to_owned(),
            (key.0.to_owned(), key.1),
            sort_key.map(|(n, t)| (n.to_owned(), t)),
        ));
        self
    }

    /// Creates the table and waits until it is active.
    pub async fn create(self, client: &Client) -> Result<ScratchTable, DynamoError> {
        use aws_sdk_dynamodb::client::Waiters as _;
        let (key_name, key_type) = self.key.clone().ok_or_else(|| {
            DynamoError::Other("a scratch table needs a partition key: .key(name, type)".into())
        })?;
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .subsec_nanos();
        let name = format!("{}-{}-{nanos}", self.prefix, std::process::id());
        let element = |n: &str, t: KeyType| {
            KeySchemaElement::builder()
                .attribute_name(n)
                .key_type(t)
                .build()
                .expect("name and type are set")
        };
        let mut attributes: Vec<(String, ScalarAttributeType)> = vec![(key_name.clone(), key_type)];
        let mut request = client
            .create_table()
            .table_name(&name)
            .billing_mode(BillingMode::PayPerRequest)
            .key_schema(element(&key_name, KeyType::Hash));
        if let Some((n, t)) = &self.sort_key {
            request = request.key_schema(element(n, KeyType::Range));
            attributes.push((n.clone(), t.clone()));
        }
        for (index, (k, kt), sort) in &self.indexes {
            let mut gsi = GlobalSecondaryIndex::builder()
                .index_name(index)
                .key_schema(element(k, KeyType::Hash))
                .projection(
                    Projection::builder()
                        .projection_type(ProjectionType::All)
                        .build(),
                );
            attributes.push((k.clone(), kt.clone()));
            if let Some((n, t)) = sort {
                gsi = gsi.key_schema(element(n, KeyType::Range));
                attributes.push((n.clone(), t.clone()));
            }
            request = request.global_secondary_indexes(
                gsi.build().map_err(|e| DynamoError::Other(e.to_string()))?,
            );
        }
        attributes.sort_by(|a, b| a.0.cmp(&b.0));
        attributes.dedup_by(|a, b| a.0 == b.0);
        for (n, t) in attributes {
            request = request.attribute_definitions(
                AttributeDefinition::builder()
                    .attribute_name(n)
                    .attribute_type(t)
                    .build()
                    .expect("name and type are set"),
            );
        }
        request.send().await.map_err(DynamoError::from_sdk)?;
        // From here on, dropping deletes it.
        let scratch = ScratchTable {
            table: Table::new(client.clone(), name),
        };
        client
            .wait_until_table_exists()
            .table_name(scratch.name())
            .wait(Duration::from_secs(120))
            .await
            .map_err(|e| {
                DynamoError::Other(format!("table {} never became active: {e}", scratch.name()))
            })?;
        Ok(scratch)
    }
}

impl Drop for ScratchTable {
    fn drop(&mut self) {
        let (client, name) = (self.table.client.clone(), self.table.name.clone());
        let deleted = super::block_on_own_thread(async move {
            client
                .delete_table()
                .table_name(&name)
                .send()
                .await
                .map(drop)
                .map_err(|e| super::error_chain(&e))
        })
        .and_then(|r| r);
        if let Err(e) = deleted {
            eprintln!(
                "perf-runtime: could not delete scratch table {}: {e}",
                self.table.name
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU64, Ordering::SeqCst};

    use super::*;

    fn options(max_retries: u32) -> BatchOptions {
        BatchOptions {
            max_concurrency: 4,
            backoff: Backoff {
                max_retries,
                base_delay: Duration::from_millis(100),
                max_delay: Duration::from_secs(1),
            },
        }
    }

    #[tokio::test(start_paused = true)]
    async fn chunks_of_the_limit_and_unprocessed_items_are_retried() {
        // 60 inputs: chunks of 25, 25, 10. Each request leaves its last
        // input unprocessed the first time it sees it.
        let seen = std::sync::Mutex::new(std::collections::HashSet::new());
        let sizes = std::sync::Mutex::new(Vec::new());
        let outcome = run_batches((0..60).collect(), 25, &options(3), |chunk: Vec<u32>| {
            sizes.lock().unwrap().push(chunk.len());
            let last = *chunk.last().unwrap();
            let first_time = seen.lock().unwrap().insert(last);
            async move {
                Ok(Sent {
                    unprocessed: if first_time { vec![last] } else { vec![] },
                    consumed: chunk.len() as f64,
                    output: Vec::new(),
                })
            }
        })
        .await;
        let mut sizes = sizes.into_inner().unwrap();
        sizes.sort_unstable();
        // 3 first requests, then each chunk's last input retried alone
        // (already seen, so processed).
        assert_eq!(sizes, [1, 1, 1, 10, 25, 25]);
        assert_eq!(
            (outcome.attempts, outcome.retries, outcome.processed),
            (6, 3, 60)
        );
        assert!(outcome.is_complete());
        assert_eq!(outcome.consumed_capacity, 63.0);
    }

    #[tokio::test(start_paused = true)]
    async fn inputs_never_processed_are_reported_not_dropped() {
        let attempts = AtomicU64::new(0);
        let start = tokio::time::Instant::now();
        let outcome = run_batches((0..30).collect(), 25, &options(3), |chunk: Vec<u32>| {
            attempts.fetch_add(1, SeqCst);
            async move {
                // The 5-input chunk always comes back unprocessed.
                let unprocessed = if chunk.len() <= 5 { chunk } else { vec![] };
                Ok(Sent {
                    unprocessed,
                    consumed: 0.0,
                    output: Vec::new(),
                })
            }
        })
        .await;
        assert_eq!(outcome.processed, 25);
        assert_eq!(outcome.failed, [25, 26, 27, 28, 29]);
        // 1 + 3 retries for the stubborn chunk, 1 for the other.
        assert_eq!((outcome.attempts, outcome.retries), (5, 3));
        assert_eq!(attempts.load(SeqCst), 5);
        assert_eq!(
            outcome.errors.last().unwrap(),
            "5 still unprocessed after 3 retries"
        );
        // Full jitter: the three waits are at most 100 + 200 + 400 ms.
        assert!(start.elapsed() <= Duration::from_millis(700));
    }

    #[tokio::test(start_paused = true)]
    async fn throttled_requests_are_retried_other_errors_are_not() {
        let calls = AtomicU64::new(0);
        let outcome = run_batches((0..10).collect(), 25, &options(3), |chunk: Vec<u32>| {
            let n = calls.fetch_add(1, SeqCst);
            async move {
                if n == 0 {
                    return Err(DynamoError::Throttled("ThrottlingException".into()));
                }
                Ok(Sent {
                    unprocessed: Vec::<u32>::new(),
                    consumed: chunk.len() as f64,
                    output: Vec::new(),
                })
            }
        })
        .await;
        assert_eq!(
            (outcome.attempts, outcome.retries, outcome.processed),
            (2, 1, 10)
        );
        assert_eq!(outcome.errors, ["throttled: ThrottlingException"]);

        let outcome = run_batches(
            (0..10).collect(),
            25,
            &options(3),
            |_chunk: Vec<u32>| async {
                Err::<Sent<u32>, _>(DynamoError::Other("ValidationException: bad key".into()))
            },
        )
        .await;
        assert_eq!((outcome.attempts, outcome.retries), (1, 0));
        assert_eq!(outcome.failed.len(), 10);
        assert_eq!(outcome.errors, ["ValidationException: bad key"]);
    }

    fn service_error<E>(err: E) -> SdkError<E, HttpResponse> {
        let status = aws_smithy_runtime_api::http::StatusCode::try_from(400).unwrap();
        SdkError::service_error(err, HttpResponse::new(status, "".into()))
    }

    #[test]
    fn throttles_are_classed_by_error_code() {
        use aws_sdk_dynamodb::error::ErrorMetadata;
        use aws_sdk_dynamodb::operation::put_item::PutItemError;
        use aws_sdk_dynamodb::types::error::ProvisionedThroughputExceededException;
        let meta = |code: &str| {
            ErrorMetadata::builder()
                .code(code)
                .message("slow down")
                .build()
        };
        let exceeded = PutItemError::ProvisionedThroughputExceededException(
            ProvisionedThroughputExceededException::builder()
                .message("slow down")
                .meta(meta("ProvisionedThroughputExceededException"))
                .build(),
        );
        let e = DynamoError::from_sdk(service_error(exceeded));
        assert_eq!(e.class(), "throttle", "{e}");
        for code in ["ThrottlingException", "RequestLimitExceeded"] {
            let e = DynamoError::from_sdk(service_error(PutItemError::generic(meta(code))));
            assert_eq!(e.class(), "throttle", "{code}: {e}");
        }
        let e = DynamoError::from_sdk(service_error(PutItemError::generic(meta(
            "ConditionalCheckFailedException",
        ))));
        assert_eq!(e.class(), "error");
    }

    #[test]
    fn read_stats_rates() {
        let mut s = ReadStats::new("scan".into());
        s.add_page(100, 400, None);
        s.add_page(50, 100, None);
        s.consumed_capacity = 30.0;
        s.elapsed = Duration::from_millis(500);
        assert_eq!((s.items, s.scanned, s.pages), (150, 500, 2));
        assert_eq!(s.items_per_second(), 300.0);
        assert_eq!(s.capacity_per_item(), 0.2);
    }
}
