//! Publishing a report's metrics to CloudWatch with `PutMetricData` (cargo
//! feature `cloudwatch`): the data of [`MetricsExport`],
//! batched within the API's limits (1,000 data per request, 150 values per
//! datum: a longer distribution is split into several data, which
//! CloudWatch aggregates).
//!
//! `aws-sdk-cloudwatch` is held below 1.100: from 1.100.0 on it speaks a
//! CBOR protocol that moto does not serve; the versions before speak the
//! query protocol, which both AWS and moto serve.

use aws_sdk_cloudwatch::primitives::DateTime;
use aws_sdk_cloudwatch::types::{Dimension, MetricDatum, StandardUnit, StatisticSet};
use aws_sdk_cloudwatch::Client;

use crate::model::error::Error;
use crate::model::report::Report;
use crate::output::emf::{self, MetricsExport, Unit};
use crate::output::sink::Sink;

/// Most data in one `PutMetricData` request.
pub const MAX_DATA_PER_REQUEST: usize = 1_000;
/// Most values (with counts) in one datum.
pub const MAX_VALUES_PER_DATUM: usize = 150;

/// The CloudWatch sink (`publish = "cloudwatch"`): `PutMetricData` with
/// the SDK's usual configuration, on a thread of its own (the caller may
/// be inside a runtime, or none).
pub(crate) struct CloudWatchSink(pub(crate) MetricsExport);

impl Sink for CloudWatchSink {
    fn deliver(&self, report: &Report, _: &mut Vec<String>) -> Result<(), Error> {
        let (export, report) = (self.0.clone(), report.clone());
        crate::aws::block_on_own_thread(async move {
            let config = crate::aws::sdk_config(&crate::aws::HttpTuning::default()).await;
            let client = Client::new(&config);
            publish(&client, &export, &report)
                .await
                .map(drop)
                .map_err(|e| e.to_string())
        })
        .and_then(|r| r)
        .map_err(|reason| Error::Publish {
            target: "CloudWatch".into(),
            reason,
        })
    }
}

/// What a publish sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Published {
    /// `PutMetricData` requests.
    pub requests: usize,
    /// Metric data sent.
    pub data: usize,
}

/// Why publishing failed: the request that failed and the SDK's error.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("PutMetricData request {request} of {requests} failed: {message}")]
pub struct PublishError {
    /// 1-based index of the failed request.
    pub request: usize,
    /// Requests in all.
    pub requests: usize,
    /// The SDK's error.
    pub message: String,
}

/// Publishes `report`'s metrics into `export.namespace`, timestamped at the
/// end of the run.
pub async fn publish(
    client: &Client,
    export: &MetricsExport,
    report: &Report,
) -> Result<Published, PublishError> {
    let end_ms = report.started_at_unix_ms + report.elapsed_ns / 1_000_000;
    let timestamp = DateTime::from_millis(end_ms as i64);
    let data: Vec<MetricDatum> = export
        .data(report)
        .into_iter()
        .flat_map(split)
        .map(|d| to_sdk(d, timestamp))
        .collect();
    let batches: Vec<&[MetricDatum]> = data.chunks(MAX_DATA_PER_REQUEST).collect();
    for (i, batch) in batches.iter().enumerate() {
        client
            .put_metric_data()
            .namespace(&export.namespace)
            .set_metric_data(Some(batch.to_vec()))
            .send()
            .await
            .map_err(|e| PublishError {
                request: i + 1,
                requests: batches.len(),
                message: super::error_chain(&e),
            })?;
    }
    Ok(Published {
        requests: batches.len(),
        data: data.len(),
    })
}

/// A datum with more values than a datum may carry, as several.
fn split(d: emf::MetricDatum) -> Vec<emf::MetricDatum> {
    if d.values.len() <= MAX_VALUES_PER_DATUM {
        return vec![d];
    }
    d.values
        .chunks(MAX_VALUES_PER_DATUM)
        .zip(d.counts.chunks(MAX_VALUES_PER_DATUM))
        .map(|(values, counts)| emf::MetricDatum {
            values: values.to_vec(),
            counts: counts.to_vec(),
            ..d.clone()
        })
        .collect()
}

fn to_sdk(d: emf::MetricDatum, timestamp: DateTime) -> MetricDatum {
    let unit = match d.unit {
        Unit::Milliseconds => StandardUnit::Milliseconds,
        Unit::Count => StandardUnit::Count,
        Unit::CountPerSecond => StandardUnit::CountSecond,
        Unit::None => StandardUnit::None,
    };
    let mut b = MetricDatum::builder()
        .metric_name(d.name)
        .unit(unit)
        .timestamp(timestamp);
    for (name, value) in d.dimensions {
        b = b.dimensions(Dimension::builder().name(name).value(value).build());
    }
    if let Some(s) = d.statistics {
        b = b.statistic_values(
            StatisticSet::builder()
                .minimum(s.minimum)
                .maximum(s.maximum)
                .sum(s.sum)
                .sample_count(s.sample_count)
                .build(),
        );
    } else if d.values.len() == 1 && d.counts.is_empty() {
        b = b.value(d.values[0]);
    } else {
        b = b.set_values(Some(d.values)).set_counts(Some(d.counts));
    }
    b.build()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_distributions_are_split_within_the_limit() {
        let d = emf::MetricDatum {
            name: "Latency".into(),
            unit: Unit::Milliseconds,
            dimensions: vec![("Test".into(), "t".into())],
            values: (0..400).map(f64::from).collect(),
            counts: vec![2.0; 400],
            statistics: None,
        };
        let parts = split(d);
        assert_eq!(
            parts.iter().map(|p| p.values.len()).collect::<Vec<_>>(),
            [150, 150, 100]
        );
        assert_eq!(parts.iter().flat_map(|p| &p.counts).sum::<f64>(), 800.0);
        assert!(parts.iter().all(|p| p.values.len() == p.counts.len()));
    }
}
