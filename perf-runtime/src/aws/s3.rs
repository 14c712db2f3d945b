//! Shard results in S3 (cargo feature `s3`): `PERF_RESULTS=s3://bucket/prefix/`
//! on the shards, `perf-report merge s3://bucket/prefix/` after them.
//!
//! Objects are named like the result files:
//! `<prefix><test path>.shard-2-of-8.json`. Against a custom endpoint
//! (`AWS_ENDPOINT_URL*`, e.g. the local stack) requests use path-style
//! addressing, since `bucket.127.0.0.1` does not resolve.

use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::Client;

use super::HttpTuning;
use crate::model::error::Error;
use crate::model::report::Report;
use crate::model::shard::ShardResult;
use crate::output::sink::Sink;

/// The S3 shard result sink (`PERF_RESULTS=s3://bucket/prefix/`).
pub(crate) struct S3Results(pub(crate) String);

impl Sink for S3Results {
    fn deliver(&self, report: &Report, notes: &mut Vec<String>) -> Result<(), Error> {
        let Some(result) = report.shard_result() else {
            return Ok(());
        };
        let (dest, r) = (self.0.clone(), result.clone());
        let written = crate::aws::block_on_own_thread(async move { put_result(&dest, &r).await })
            .and_then(|r| r)
            .map_err(|reason| Error::Publish {
                target: self.0.clone(),
                reason,
            })?;
        notes.push(format!("shard result: {written}"));
        Ok(())
    }
}

/// `s3://bucket/prefix/` split into the bucket and the key prefix (with a
/// trailing `/` unless empty).
pub fn parse_url(url: &str) -> Result<(String, String), String> {
    let rest = url
        .strip_prefix("s3://")
        .ok_or_else(|| format!("{url:?} is not an s3:// URL"))?;
    let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
    if bucket.is_empty() {
        return Err(format!(
            "{url:?} names no bucket; write s3://bucket/prefix/"
        ));
    }
    let mut prefix = prefix.to_owned();
    if !prefix.is_empty() && !prefix.ends_with('/') {
        prefix.push('/');
    }
    Ok((bucket.to_owned(), prefix))
}

/// An S3 client from the usual configuration (one attempt per call is not
/// wanted here: these are not measurements, so the SDK's retries stay on).
pub async fn client() -> Client {
    let base = super::loader(&HttpTuning::default()).load().await;
    let custom = ["AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL"]
        .iter()
        .any(|v| std::env::var(v).is_ok_and(|e| !e.is_empty()));
    Client::from_conf(
        aws_sdk_s3::config::Builder::from(&base)
            .force_path_style(custom)
            .build(),
    )
}

/// Writes `result` under `url`; returns the object's `s3://` address.
pub async fn put_result(url: &str, result: &ShardResult) -> Result<String, String> {
    let (bucket, prefix) = parse_url(url)?;
    let key = format!("{prefix}{}", object_name(result));
    client()
        .await
        .put_object()
        .bucket(&bucket)
        .key(&key)
        .content_type("application/json")
        .body(ByteStream::from(result.to_json().into_bytes()))
        .send()
        .await
        .map_err(|e| format!("PutObject s3://{bucket}/{key}: {}", super::error_chain(&e)))?;
    Ok(format!("s3://{bucket}/{key}"))
}

/// Every shard result (`*.shard-*-of-*.json`) under `url`.
pub async fn read_results(url: &str) -> Result<Vec<ShardResult>, String> {
    let (bucket, prefix) = parse_url(url)?;
    let client = client().await;
    let mut pages = client
        .list_objects_v2()
        .bucket(&bucket)
        .prefix(&prefix)
        .into_paginator()
        .send();
    let mut keys = Vec::new();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| format!("ListObjectsV2 {url}: {}", super::error_chain(&e)))?;
        keys.extend(
            page.contents()
                .iter()
                .filter_map(|o| o.key())
                .filter(|k| is_result_name(k))
                .map(str::to_owned),
        );
    }
    let mut results = Vec::with_capacity(keys.len());
    for key in keys {
        let source = format!("s3://{bucket}/{key}");
        let object = client
            .get_object()
            .bucket(&bucket)
            .key(&key)
            .send()
            .await
            .map_err(|e| format!("GetObject {source}: {}", super::error_chain(&e)))?;
        let bytes = object
            .body
            .collect()
            .await
            .map_err(|e| format!("reading {source}: {e}"))?
            .into_bytes();
        let text = std::str::from_utf8(&bytes).map_err(|e| format!("{source}: {e}"))?;
        results.push(ShardResult::from_json(text, &source)?);
    }
    Ok(results)
}

/// `<test path>.shard-I-of-N.json`, `/`-separated.
fn object_name(result: &ShardResult) -> String {
    result
        .path_in(std::path::Path::new(""))
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join("/")
}

/// Whether a file or key name is a shard result's.
pub(crate) fn is_result_name(name: &str) -> bool {
    name.ends_with(".json") && name.contains(".shard-")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_split_into_bucket_and_prefix() {
        assert_eq!(
            parse_url("s3://b/runs/42").unwrap(),
            ("b".into(), "runs/42/".into())
        );
        assert_eq!(
            parse_url("s3://b/runs/").unwrap(),
            ("b".into(), "runs/".into())
        );
        assert_eq!(parse_url("s3://b").unwrap(), ("b".into(), String::new()));
        assert!(parse_url("s3:///x").unwrap_err().contains("no bucket"));
        assert!(parse_url("/tmp/x")
            .unwrap_err()
            .contains("not an s3:// URL"));
    }
}
