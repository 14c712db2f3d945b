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
