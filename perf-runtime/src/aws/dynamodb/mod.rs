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

mod batch;
mod scratch;

pub(crate) use batch::{run_batches, Sent};
pub use batch::{BatchOptions, BatchOutcome, ReadStats};
pub use scratch::{ScratchTable, ScratchTableBuilder};

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
