//! DynamoDB measurements against the local stack (moto) through
//! `aws-sdk-dynamodb`: correctness of what is measured and reported, not
//! the emulator's throughput. Run under `scripts/aws-stack -- cargo test`.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_dynamodb::types::ScalarAttributeType::{N, S};
use perf_runtime::aws::dynamodb::{BatchOptions, DynamoError, Item, ScratchTable, Table};
use perf_runtime::aws::{self, HttpTuning};
use perf_runtime::prelude::*;

fn quiet(name: &str) -> PerfTest {
    PerfTest::new(name).no_report_file().quiet()
}

/// Orders by customer (`pk`) and number (`sk`), indexed by status.
async fn orders_table(prefix: &str) -> ScratchTable {
    let client = Table::connect("unused", &HttpTuning::default())
        .await
        .client()
        .clone();
    ScratchTable::builder(prefix)
        .key("pk", S)
        .sort_key("sk", N)
        .index("by_status", ("status", S), Some(("sk", N)))
        .create(&client)
        .await
        .unwrap()
}

fn item(pk: &str, sk: u64, status: &str) -> Item {
    HashMap::from([
        ("pk".to_owned(), AttributeValue::S(pk.to_owned())),
        ("sk".to_owned(), AttributeValue::N(sk.to_string())),
        ("status".to_owned(), AttributeValue::S(status.to_owned())),
        ("payload".to_owned(), AttributeValue::S("x".repeat(100))),
    ])
}

fn key(pk: &str, sk: u64) -> Item {
    HashMap::from([
        ("pk".to_owned(), AttributeValue::S(pk.to_owned())),
        ("sk".to_owned(), AttributeValue::N(sk.to_string())),
    ])
}

/// 4 customers x 50 orders; every 5th order is "open".
fn orders() -> Vec<Item> {
    (0..200)
        .map(|i| {
            let status = if i % 5 == 0 { "open" } else { "shipped" };
            item(&format!("customer#{}", i % 4), i, status)
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn put_and_get_record_consumed_capacity() {
    let Some(_stack) = aws::stack_or_skip("put_and_get_record_consumed_capacity") else {
        return;
    };
    let scratch = orders_table("perf-putget").await;
    let table = Arc::new(scratch.table().clone());
    let t = table.clone();
    let writes = quiet("dynamodb::put")
        .workers(4)
        .repeat(60)
        .threshold(Threshold::class_rate("throttle").lt(0.001))
        .run_async(move |ctx| {
            let t = t.clone();
            async move {
                t.put_item(&ctx, item("customer#1", ctx.iteration(), "open"))
                    .await
            }
        })
        .await
        .unwrap();
    writes.assert_passed();
    let wcu = &writes.custom["consumed_wcu"];
    assert_eq!(wcu.count, 60);
    // A 1 KB-or-smaller item costs 1 write unit.
    assert_eq!((wcu.min, wcu.max), (1.0, 1.0));

    let t = table.clone();
    let reads = quiet("dynamodb::get")
        .workers(4)
        .repeat(60)
        .run_async(move |ctx| {
            let t = t.clone();
            async move {
                let found = t
                    .get_item(&ctx, key("customer#1", ctx.iteration()), false)
                    .await?;
                found
                    .map(drop)
                    .ok_or_else(|| DynamoError::Other("item missing".into()))
            }
        })
        .await
        .unwrap();
    reads.assert_passed();
    let rcu = &reads.custom["consumed_rcu"];
    assert_eq!(rcu.count, 60);
    // An eventually consistent read of up to 4 KB costs half a unit.
    assert_eq!(rcu.mean, 0.5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failures_are_classed_and_counted() {
    let Some(_stack) = aws::stack_or_skip("failures_are_classed_and_counted") else {
        return;
    };
    let table = Arc::new(Table::connect("perf-no-such-table", &HttpTuning::default()).await);
    let report = quiet("dynamodb::missing_table")
        .workers(1)
        .repeat(5)
        .threshold(Threshold::error_rate().lt(0.5))
        .run_async(move |ctx| {
            let t = table.clone();
            async move { t.put_item(&ctx, item("a", 1, "open")).await }
        })
        .await
        .unwrap();
    assert!(!report.passed);
    assert_eq!(report.errors, 5);
    assert!(report.first_errors[0]
        .message
        .contains("ResourceNotFoundException"));
    // Not a throttle: the generic class.
    assert_eq!(report.error_classes.get("error"), Some(&5));
    assert_eq!(report.error_classes.get("throttle"), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batches_write_and_read_everything_in_service_sized_requests() {
    let Some(_stack) = aws::stack_or_skip("batches_write_and_read_everything") else {
        return;
    };
    let scratch = orders_table("perf-batch").await;
    let table = scratch.table();
    let written = table.batch_write(orders(), &BatchOptions::default()).await;
    println!("batch_write: {written}");
    assert!(written.is_complete(), "{written}: {:?}", written.errors);
    // 200 items, 25 per request: 8 requests, no retry needed on moto.
    assert_eq!(
        (written.processed, written.attempts, written.retries),
        (200, 8, 0)
    );

    let keys: Vec<Item> = (0..200)
        .map(|i| key(&format!("customer#{}", i % 4), i))
        .collect();
    let mut missing = keys[..10].to_vec();
    for k in &mut missing {
        k.insert("pk".into(), AttributeValue::S("nobody".into()));
    }
    let read = table
        .batch_get([keys, missing].concat(), &BatchOptions::default())
        .await;
    println!("batch_get: {read}");
    // 210 keys, 100 per request: 3 requests; keys with no item are
    // processed (DynamoDB returns nothing for them), not failed.
    assert_eq!((read.processed, read.attempts), (210, 3));
    assert_eq!(read.output.len(), 200);
    assert!(read.is_complete());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn query_scan_and_index_read_the_same_data_differently() {
    let Some(_stack) = aws::stack_or_skip("query_scan_and_index") else {
        return;
    };
    let scratch = orders_table("perf-query").await;
    let (table, client) = (scratch.table(), scratch.table().client());
    assert!(table
        .batch_write(orders(), &BatchOptions::default())
        .await
        .is_complete());

    let query = table
        .query_all(
            client
                .query()
                .key_condition_expression("pk = :pk")
                .expression_attribute_values(":pk", AttributeValue::S("customer#2".into()))
                .limit(20),
        )
        .await
        .unwrap();
    let scan = table
        .scan_all(
            client
                .scan()
                .filter_expression("pk = :pk")
                .expression_attribute_values(":pk", AttributeValue::S("customer#2".into()))
                .limit(50),
        )
        .await
        .unwrap();
    let index = table
        .query_all(
            client
                .query()
                .index_name("by_status")
                .key_condition_expression("#s = :s")
                .expression_attribute_names("#s", "status")
                .expression_attribute_values(":s", AttributeValue::S("open".into())),
        )
        .await
        .unwrap();
    println!("{query}\n{scan}\n{index}");
    // The same 50 items: the query reads only them, in pages of 20; the
    // scan reads all 200 in pages of 50 and filters.
    assert_eq!((query.items, query.scanned), (50, 50));
    assert!(query.pages >= 3, "{query}");
    assert_eq!((scan.items, scan.scanned), (50, 200));
    assert!(scan.pages >= 4, "{scan}");
    assert_eq!(index.items, 40);
    assert_eq!(index.label, "query by_status");
    assert!(query.elapsed > Duration::ZERO && query.items_per_second() > 0.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scratch_table_is_deleted_when_dropped() {
    let Some(_stack) = aws::stack_or_skip("a_scratch_table_is_deleted_when_dropped") else {
        return;
    };
    let scratch = orders_table("perf-scratch").await;
    let (client, name) = (scratch.table().client().clone(), scratch.name().to_owned());
    let listed = |tables: Vec<String>| tables.contains(&name);
    let before = client
        .list_tables()
        .send()
        .await
        .unwrap()
        .table_names
        .unwrap_or_default();
    assert!(listed(before));
    // Dropped in a panicking scope, as when a test fails.
    let unwound = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || {
        let _scratch = scratch;
        panic!("the test failed");
    }));
    assert!(unwound.is_err());
    let after = client
        .list_tables()
        .send()
        .await
        .unwrap()
        .table_names
        .unwrap_or_default();
    assert!(!listed(after));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_timeouts_are_their_own_class() {
    let Some(_stack) = aws::stack_or_skip("client_timeouts_are_their_own_class") else {
        return;
    };
    // An operation timeout no server meets.
    let table = Table::connect(
        "perf-timeout",
        &HttpTuning {
            operation_timeout: Some(Duration::from_micros(1)),
            ..HttpTuning::default()
        },
    )
    .await;
    let report = quiet("dynamodb::timeout")
        .workers(1)
        .repeat(3)
        .run_async(move |ctx| {
            let t = table.clone();
            async move { t.get_item(&ctx, key("a", 1), false).await.map(drop) }
        })
        .await
        .unwrap();
    assert_eq!(report.error_classes.get("timeout"), Some(&3));
    let message = &report.first_errors[0].message;
    assert!(message.contains("timed out"), "{message}");
}
