//! Publishing a report's metrics to CloudWatch (moto) with `PutMetricData`,
//! and reading them back: the latency distribution survives as values and
//! counts, per test and per tag.

use std::time::Duration;

use aws_sdk_cloudwatch::primitives::DateTime;
use aws_sdk_cloudwatch::types::{Dimension, Statistic};
use perf_runtime::aws::{self, cloudwatch, HttpTuning};
use perf_runtime::export::MetricsExport;
use perf_runtime::prelude::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_report_is_published_and_reads_back() {
    let Some(_stack) = aws::stack_or_skip("a_report_is_published_and_reads_back") else {
        return;
    };
    let name = format!("cloudwatch::published_{}", std::process::id());
    let report = PerfTest::new(name.clone())
        .no_report_file()
        .quiet()
        .workers(2)
        .repeat(300)
        .run_async(|ctx| async move {
            ctx.tag(if ctx.iteration() < 20 { "cold" } else { "warm" });
            ctx.record("consumed_rcu", 0.5);
            tokio::time::sleep(Duration::from_micros(ctx.iteration() % 10 * 50)).await;
        })
        .await
        .unwrap();
    let client = aws_sdk_cloudwatch::Client::new(&aws::sdk_config(&HttpTuning::default()).await);
    let export = MetricsExport::new("Performance/Testing").dimension("Version", "test");
    let published = cloudwatch::publish(&client, &export, &report)
        .await
        .unwrap();
    assert_eq!(published.requests, 1);
    assert!(published.data >= 8, "{published:?}");

    let dims = |tag: Option<&str>| {
        let mut d = vec![
            Dimension::builder()
                .name("TestSuite")
                .value("cloudwatch")
                .build(),
            Dimension::builder().name("Test").value(&name).build(),
            Dimension::builder().name("Version").value("test").build(),
        ];
        if let Some(t) = tag {
            d.push(Dimension::builder().name("Tag").value(t).build());
        }
        d
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let samples = |tag: Option<&str>| {
        let client = client.clone();
        let dims = dims(tag);
        async move {
            let stats = client
                .get_metric_statistics()
                .namespace("Performance/Testing")
                .metric_name("Latency")
                .set_dimensions(Some(dims))
                .start_time(DateTime::from_secs(now - 600))
                .end_time(DateTime::from_secs(now + 600))
                .period(60)
                .statistics(Statistic::SampleCount)
                .statistics(Statistic::Maximum)
                .send()
                .await
                .unwrap();
            let points = stats.datapoints.unwrap_or_default();
            let count: f64 = points.iter().filter_map(|p| p.sample_count).sum();
            let max = points
                .iter()
                .filter_map(|p| p.maximum)
                .fold(0.0f64, f64::max);
            (count, max)
        }
    };
    // Every iteration is in the distribution, counts included, per tag
    // and for the whole test. (moto also counts, for the test's own
    // dimensions, the data whose dimensions include them: the tagged
    // ones; CloudWatch matches dimension sets exactly.)
    let (cold, _) = samples(Some("cold")).await;
    let (warm, _) = samples(Some("warm")).await;
    assert_eq!((cold, warm), (20.0, 280.0));
    let (count, max) = samples(None).await;
    assert_eq!(count - cold - warm, 300.0);
    let report_max_ms = report.latency.max_ns as f64 / 1e6;
    assert!(
        (max / report_max_ms - 1.0).abs() < 0.02,
        "{max} vs {report_max_ms}"
    );
}

/// `publish = "cloudwatch"` (here through the builder): the test publishes
/// when it finishes, into its namespace.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_test_publishes_when_it_finishes() {
    let Some(_stack) = aws::stack_or_skip("a_test_publishes_when_it_finishes") else {
        return;
    };
    let namespace = format!("Perf/Finish{}", std::process::id());
    PerfTest::new("cloudwatch::on_finish")
        .no_report_file()
        .quiet()
        .repeat(30)
        .publish_targets("cloudwatch")
        .namespace(namespace.clone())
        .run_async(|_ctx| async {})
        .await
        .unwrap()
        .assert_passed();
    let client = aws_sdk_cloudwatch::Client::new(&aws::sdk_config(&HttpTuning::default()).await);
    let listed = client
        .list_metrics()
        .namespace(&namespace)
        .send()
        .await
        .unwrap()
        .metrics
        .unwrap_or_default();
    let mut names: Vec<&str> = listed.iter().filter_map(|m| m.metric_name()).collect();
    names.sort_unstable();
    names.dedup();
    assert_eq!(
        names,
        ["ErrorRate", "Errors", "Iterations", "Latency", "Throughput"]
    );
}

/// A distributed run publishes once, after the merge: the shards publish
/// nothing, and the merged report's metrics carry every shard's iterations.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_distributed_run_publishes_the_merged_metrics_once() {
    let Some(_stack) = aws::stack_or_skip("a_distributed_run_publishes_once") else {
        return;
    };
    let namespace = format!("Perf/Merged{}", std::process::id());
    let mut results = Vec::new();
    for i in 1..=3 {
        let report = PerfTest::new("cloudwatch::sharded")
            .no_report_file()
            .quiet()
            .env_overrides(false)
            .repeat(90)
            .publish_targets("cloudwatch")
            .namespace(namespace.clone())
            .shard(perf_runtime::shard::Shard::new(i, 3).unwrap())
            .run_async(|_ctx| async {})
            .await
            .unwrap();
        results.push(report.shard_result().unwrap().clone());
    }
    let client = aws_sdk_cloudwatch::Client::new(&aws::sdk_config(&HttpTuning::default()).await);
    let listed = |client: aws_sdk_cloudwatch::Client, namespace: String| async move {
        client
            .list_metrics()
            .namespace(namespace)
            .send()
            .await
            .unwrap()
            .metrics
            .unwrap_or_default()
            .len()
    };
    assert_eq!(listed(client.clone(), namespace.clone()).await, 0);

    let after = results[0].after.clone();
    let merged = perf_runtime::shard::merge(results).unwrap();
    // As `perf-report merge` does, with no PERF_* variable set.
    tokio::task::spawn_blocking(move || after.publish(&merged, &|_| None))
        .await
        .unwrap()
        .unwrap();
    assert!(listed(client.clone(), namespace.clone()).await > 0);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let stats = client
        .get_metric_statistics()
        .namespace(&namespace)
        .metric_name("Latency")
        .dimensions(
            Dimension::builder()
                .name("TestSuite")
                .value("cloudwatch")
                .build(),
        )
        .dimensions(
            Dimension::builder()
                .name("Test")
                .value("cloudwatch::sharded")
                .build(),
        )
        .start_time(DateTime::from_secs(now - 600))
        .end_time(DateTime::from_secs(now + 600))
        .period(60)
        .statistics(Statistic::SampleCount)
        .send()
        .await
        .unwrap();
    let count: f64 = stats
        .datapoints
        .unwrap_or_default()
        .iter()
        .filter_map(|p| p.sample_count)
        .sum();
    assert_eq!(count, 90.0, "every shard's iterations, published once");
}
