//! DynamoDB performance, the original framework's
//! `dynamodb_performance_test.go` in Rust: read/write throughput, batch
//! operations with backoff, query vs scan, index queries, connection
//! pooling. Each test creates its own table (unique name) and deletes it
//! when done, also when it fails.
//!
//! On the local stack (moto) the figures show correctness and relative
//! cost, not DynamoDB's speed: moto serves about 200 operations per second.

use std::sync::Arc;
use std::time::Duration;

use aws_sdk_dynamodb::types::AttributeValue;
use perf_examples::load;
use perf_examples::orders::{connection_reuse, key, order, orders_table};
use perf_runtime::aws::dynamodb::{BatchOptions, DynamoError};
use perf_runtime::aws::{self, Backoff};
use perf_runtime::prelude::*;

/// Writes: `PutItem` from 8 workers, with the write capacity each consumed
/// and a throttle budget.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn write_throughput() {
    if aws::stack_or_skip("write_throughput").is_none() {
        return;
    }
    let scratch = orders_table("orders-writes").await.unwrap();
    let table = Arc::new(scratch.table().clone());
    let report = PerfTest::new("dynamodb_performance::write_throughput")
        .workers(load(8, 32) as usize)
        .repeat(load(400, 10_000))
        .threshold(Threshold::p(95.0).lt(Duration::from_millis(500)))
        .threshold(Threshold::class_rate("throttle").lt(0.001))
        .threshold(Threshold::of("consumed_wcu").mean().le(1.0))
        .run_async(move |ctx| {
            let table = table.clone();
            async move {
                let i = ctx.iteration();
                table.put_item(&ctx, order(i % 20, i)).await
            }
        })
        .await
        .unwrap();
    report.assert_passed();
    assert_eq!(report.custom["consumed_wcu"].count, load(400, 10_000));
}

/// Reads: `GetItem` of items seeded with a batch write; eventually
/// consistent reads of small items cost half a read unit.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_throughput() {
    if aws::stack_or_skip("read_throughput").is_none() {
        return;
    }
    let scratch = orders_table("orders-reads").await.unwrap();
    let seeded = scratch
        .table()
        .batch_write(
            (0..400).map(|i| order(i % 20, i)).collect(),
            &BatchOptions::default(),
        )
        .await;
    assert!(seeded.is_complete(), "{seeded}");
    let table = Arc::new(scratch.table().clone());
    let report = PerfTest::new("dynamodb_performance::read_throughput")
        .workers(load(8, 32) as usize)
        .repeat(load(400, 10_000))
        .threshold(Threshold::p(95.0).lt(Duration::from_millis(500)))
        .threshold(Threshold::class_rate("throttle").lt(0.001))
        .threshold(Threshold::of("consumed_rcu").mean().le(0.5))
        .run_async(move |ctx| {
            let table = table.clone();
            async move {
                let i = ctx.iteration();
                let item = table.get_item(&ctx, key(i % 20, i), false).await?;
                item.map(drop)
                    .ok_or_else(|| DynamoError::Other(format!("order {i} missing")))
            }
        })
        .await
        .unwrap();
    report.assert_passed();
}

/// Batches: 1,000 orders written 25 per request and read back 100 per
/// request, 25 requests in flight, unprocessed items retried with
/// exponential backoff and full jitter (3 retries from 100 ms).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batch_operations_with_backoff() {
    if aws::stack_or_skip("batch_operations_with_backoff").is_none() {
        return;
    }
    let scratch = orders_table("orders-batch").await.unwrap();
    let options = BatchOptions {
        max_concurrency: 25,
        backoff: Backoff {
            max_retries: 3,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(5),
        },
    };
    let written = scratch
        .table()
        .batch_write((0..1_000).map(|i| order(i % 40, i)).collect(), &options)
        .await;
    let read = scratch
        .table()
        .batch_get((0..1_000).map(|i| key(i % 40, i)).collect(), &options)
        .await;
    perf_runtime::print_figures(&format!(
        "batch_write: {written}\nbatch_get:   {read}, {} items returned",
        read.output.len()
    ));
    assert!(written.is_complete(), "{:?}", written.errors);
    assert_eq!(written.processed, 1_000);
    assert!(written.attempts >= 40);
    assert!(read.is_complete(), "{:?}", read.errors);
    assert_eq!(read.output.len(), 1_000);
}

/// Query vs scan vs index on the same 1,000 orders: one customer's 25
/// orders by key, the same by a filtered scan, and the open orders through
/// the `by_status` index, each paginated to completion.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn query_vs_scan_and_index() {
    if aws::stack_or_skip("query_vs_scan_and_index").is_none() {
        return;
    }
    let scratch = orders_table("orders-query").await.unwrap();
    let table = scratch.table();
    let seeded = table
        .batch_write(
            (0..1_000).map(|i| order(i % 40, i)).collect(),
            &BatchOptions::default(),
        )
        .await;
    assert!(seeded.is_complete(), "{seeded}");
    let client = table.client();
    let customer = AttributeValue::S("customer#7".into());
    let query = table
        .query_all(
            client
                .query()
                .key_condition_expression("pk = :pk")
                .expression_attribute_values(":pk", customer.clone()),
        )
        .await
        .unwrap();
    let scan = table
        .scan_all(
            client
                .scan()
                .filter_expression("pk = :pk")
                .expression_attribute_values(":pk", customer)
                .limit(250),
        )
        .await
        .unwrap();
    let index = table
        .query_all(
            client
                .query()
                .index_name("by_status")
                .key_condition_expression("#s = :open")
                .expression_attribute_names("#s", "status")
                .expression_attribute_values(":open", AttributeValue::S("open".into())),
        )
        .await
        .unwrap();
    perf_runtime::print_figures(&format!("{query}\n{scan}\n{index}"));
    assert_eq!((query.items, scan.items, index.items), (25, 25, 200));
    // The scan reads the whole table to find the same 25 orders.
    assert_eq!((query.scanned, scan.scanned), (25, 1_000));
    assert!(scan.consumed_capacity > query.consumed_capacity);
}

/// Connection pooling: the same GetItems through the default (pooled)
/// client and one that opens a connection per request. moto closes every
/// connection, so locally the two match; against AWS the pooled client
/// saves a TCP and TLS handshake per request. (`cargo bench --bench
/// connection_reuse` also measures Lambda Invoke, where reuse shows.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connection_pooling() {
    if aws::stack_or_skip("connection_pooling").is_none() {
        return;
    }
    let scratch = orders_table("orders-pool").await.unwrap();
    let seeded = scratch
        .table()
        .batch_write(
            (0..200).map(|i| order(i % 4, i % 50)).collect(),
            &BatchOptions::default(),
        )
        .await;
    assert!(seeded.is_complete(), "{seeded}");
    let (pooled, fresh) = connection_reuse(
        "dynamodb_performance::connection_pooling",
        scratch.name(),
        100,
    )
    .await;
    pooled.assert_passed();
    fresh.assert_passed();
}
