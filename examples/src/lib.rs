//! The showcase: perf tests a new user can read as documentation. They live
//! in `tests/` and run with `cargo test -p perf-examples`.
//!
//! The AWS suites (`lambda_performance`, `dynamodb_performance`,
//! `stepfunctions_performance`, `eventbridge_performance`) run against the
//! local stack: `scripts/aws-stack -- cargo test -p perf-examples`. With
//! `LOAD_TEST=true` their throughput tests run heavier variants ([`load`]),
//! as the original framework's suites do.

use std::collections::HashMap;

pub mod distributed;

/// `normal`, or `heavy` when `LOAD_TEST` is on (`true`, `1`, `yes`, `on`):
/// the showcase's everyday load and its load-test variant. A bad
/// `LOAD_TEST` value panics with the variable's name and value.
pub fn load(normal: u64, heavy: u64) -> u64 {
    match perf_runtime::env_flag("LOAD_TEST") {
        Ok(true) => heavy,
        Ok(false) => normal,
        Err(e) => panic!("{e}"),
    }
}

/// A small service to measure: parses `key=value;...` configuration lines.
pub fn parse_config(text: &str) -> Result<HashMap<&str, &str>, String> {
    text.split(';')
        .filter(|part| !part.trim().is_empty())
        .map(|part| {
            part.split_once('=')
                .map(|(k, v)| (k.trim(), v.trim()))
                .ok_or_else(|| format!("`{part}` has no `=`"))
        })
        .collect()
}

/// Helpers of the DynamoDB suite and the `connection_reuse` benchmark.
pub mod orders {
    use std::collections::HashMap;
    use std::sync::Arc;
    use std::time::Duration;

    use aws_sdk_dynamodb::types::AttributeValue;
    use aws_sdk_dynamodb::types::ScalarAttributeType::{N, S};
    use perf_runtime::aws::dynamodb::{DynamoError, Item, ScratchTable, Table};
    use perf_runtime::aws::HttpTuning;
    use perf_runtime::{PerfTest, Report, Threshold};

    /// An order: customer `pk`, number `sk`, a status every 5th is "open".
    pub fn order(customer: u64, number: u64) -> Item {
        let status = if number.is_multiple_of(5) {
            "open"
        } else {
            "shipped"
        };
        HashMap::from([
            (
                "pk".into(),
                AttributeValue::S(format!("customer#{customer}")),
            ),
            ("sk".into(), AttributeValue::N(number.to_string())),
            ("status".into(), AttributeValue::S(status.into())),
            (
                "total_cents".into(),
                AttributeValue::N((number * 37 % 10_000).to_string()),
            ),
        ])
    }

    /// The key of `order(customer, number)`.
    pub fn key(customer: u64, number: u64) -> Item {
        HashMap::from([
            (
                "pk".into(),
                AttributeValue::S(format!("customer#{customer}")),
            ),
            ("sk".into(), AttributeValue::N(number.to_string())),
        ])
    }

    /// A scratch orders table (deleted when dropped), indexed by status.
    pub async fn orders_table(prefix: &str) -> Result<ScratchTable, DynamoError> {
        let client = Table::connect("", &HttpTuning::default())
            .await
            .client()
            .clone();
        ScratchTable::builder(prefix)
            .key("pk", S)
            .sort_key("sk", N)
            .index("by_status", ("status", S), Some(("sk", N)))
            .create(&client)
            .await
    }

    /// `n` GetItems on one worker through a client with `tuning`, as a perf
    /// test named `name` (its summary printed).
    pub async fn get_items(name: &str, table: &str, tuning: HttpTuning, n: u64) -> Report {
        let table = Arc::new(Table::connect(table, &tuning).await);
        PerfTest::new(name)
            .workers(1)
            .repeat(n)
            .warmup(10)
            .threshold(Threshold::p(95.0).lt(Duration::from_secs(1)))
            .run_async(move |ctx| {
                let table = table.clone();
                async move {
                    table
                        .get_item(&ctx, key(ctx.iteration() % 4, ctx.iteration() % 50), false)
                        .await
                        .map(drop)
                }
            })
            .await
            .expect("valid perf test")
    }

    /// Connection reuse vs a new connection per request: the same GetItems
    /// through a pooled client and through one that keeps no idle
    /// connection, as perf tests `<test>::pooled` and `<test>::no_reuse`.
    /// Returns both reports, pooled first.
    pub async fn connection_reuse(test: &str, table: &str, n: u64) -> (Report, Report) {
        let pooled = get_items(&format!("{test}::pooled"), table, HttpTuning::default(), n).await;
        let fresh = get_items(
            &format!("{test}::no_reuse"),
            table,
            HttpTuning::no_reuse(),
            n,
        )
        .await;
        (pooled, fresh)
    }
}
