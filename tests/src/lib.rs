//! Shared helpers for the behaviour tests.

use std::panic::{catch_unwind, AssertUnwindSafe};

/// Runs `f`, which must panic, and returns the panic message.
pub fn panic_message(f: impl FnOnce()) -> String {
    let payload = catch_unwind(AssertUnwindSafe(f)).expect_err("expected a panic");
    if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else {
        panic!("panic payload is not a string")
    }
}

/// The cargo target directory this test binary was built in:
/// `CARGO_TARGET_DIR`, else the ancestor of the executable that cargo
/// marked with `CACHEDIR.TAG` (where perf-runtime puts `perf/` reports).
pub fn target_dir() -> std::path::PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| {
            let exe = std::env::current_exe().expect("the test executable has a path");
            exe.ancestors()
                .find(|d| d.join("CACHEDIR.TAG").is_file())
                .expect("built by cargo")
                .to_owned()
        })
}

/// Blocks on a future in a fresh multi-threaded runtime (2 threads): for
/// APIs such as `TableTest` that run on the caller's runtime.
pub fn block_on<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime")
        .block_on(future)
}

/// A DynamoDB table created for one test (unique name, string partition
/// key `pk`, number sort key `sk`, and a global secondary index `by_status`
/// on string `status`), deleted when dropped, also when the test panics.
pub struct TempTable {
    /// The client it was created with.
    pub client: aws_sdk_dynamodb::Client,
    /// Its unique name.
    pub name: String,
}

impl TempTable {
    /// Creates `<prefix>-<pid>-<nanos>` (on-demand billing) and waits until
    /// it exists.
    pub async fn create(client: &aws_sdk_dynamodb::Client, prefix: &str) -> TempTable {
        use aws_sdk_dynamodb::types::{
            AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType,
            Projection, ProjectionType, ScalarAttributeType,
        };
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos();
        let name = format!("{prefix}-{}-{nanos}", std::process::id());
        let attr = |n: &str, t| {
            AttributeDefinition::builder()
                .attribute_name(n)
                .attribute_type(t)
                .build()
                .unwrap()
        };
        let key = |n: &str, t| {
            KeySchemaElement::builder()
                .attribute_name(n)
                .key_type(t)
                .build()
                .unwrap()
        };
        client
            .create_table()
            .table_name(&name)
            .billing_mode(BillingMode::PayPerRequest)
            .attribute_definitions(attr("pk", ScalarAttributeType::S))
            .attribute_definitions(attr("sk", ScalarAttributeType::N))
            .attribute_definitions(attr("status", ScalarAttributeType::S))
            .key_schema(key("pk", KeyType::Hash))
            .key_schema(key("sk", KeyType::Range))
            .global_secondary_indexes(
                GlobalSecondaryIndex::builder()
                    .index_name("by_status")
                    .key_schema(key("status", KeyType::Hash))
                    .key_schema(key("sk", KeyType::Range))
                    .projection(
                        Projection::builder()
                            .projection_type(ProjectionType::All)
                            .build(),
                    )
                    .build()
                    .unwrap(),
            )
            .send()
            .await
            .unwrap_or_else(|e| {
                panic!(
                    "creating table {name}: {}",
                    aws_sdk_dynamodb::error::DisplayErrorContext(&e)
                )
            });
        use aws_sdk_dynamodb::client::Waiters as _;
        client
            .wait_until_table_exists()
            .table_name(&name)
            .wait(std::time::Duration::from_secs(60))
            .await
            .unwrap_or_else(|e| panic!("table {name} never became active: {e}"));
        TempTable {
            client: client.clone(),
            name,
        }
    }
}

impl Drop for TempTable {
    fn drop(&mut self) {
        // On a thread of its own: this may run inside the test's runtime.
        let (client, name) = (self.client.clone(), self.name.clone());
        let deleted = std::thread::spawn(move || {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap()
                .block_on(client.delete_table().table_name(&name).send())
                .map(drop)
                .map_err(|e| aws_sdk_dynamodb::error::DisplayErrorContext(&e).to_string())
        })
        .join();
        if let Ok(Err(e)) = deleted {
            eprintln!("could not delete table {}: {e}", self.name);
        }
    }
}
