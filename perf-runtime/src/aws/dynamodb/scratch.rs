//! Scratch tables: created for a test, deleted when dropped.

use super::*;

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
        let deleted = crate::aws::block_on_own_thread(async move {
            client
                .delete_table()
                .table_name(&name)
                .send()
                .await
                .map(drop)
                .map_err(|e| crate::aws::error_chain(&e))
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
