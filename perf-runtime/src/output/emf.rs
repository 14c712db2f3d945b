//! A report's metrics as CloudWatch metric data and as Embedded Metric
//! Format lines (see `perf_runtime::export` for the metrics and units).

use std::collections::BTreeMap;
use std::io::Write;

use serde_json::{json, Map, Value};

use crate::model::error::Error;
use crate::model::report::Report;
use crate::output::sink::Sink;

/// EMF lines on stdout (`publish = "emf"`): a Lambda function's log.
pub(crate) struct EmfStdout(pub(crate) MetricsExport);

impl Sink for EmfStdout {
    fn deliver(&self, report: &Report, _: &mut Vec<String>) -> Result<(), Error> {
        // Not `println!`: the test harness would capture it.
        let mut out = std::io::stdout().lock();
        self.0
            .write_emf(report, &mut out)
            .map_err(|e| Error::Publish {
                target: "stdout (EMF)".into(),
                reason: e.to_string(),
            })
    }
}

/// CloudWatch units used here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// Milliseconds.
    Milliseconds,
    /// A count.
    Count,
    /// Per second.
    CountPerSecond,
    /// No unit (fractions, custom values).
    None,
}

impl Unit {
    /// CloudWatch's name for it.
    pub fn as_str(self) -> &'static str {
        match self {
            Unit::Milliseconds => "Milliseconds",
            Unit::Count => "Count",
            Unit::CountPerSecond => "Count/Second",
            Unit::None => "None",
        }
    }
}

/// Minimum, maximum, sum and count of a metric's samples.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StatisticSet {
    /// Smallest sample.
    pub minimum: f64,
    /// Largest sample.
    pub maximum: f64,
    /// Sum of the samples.
    pub sum: f64,
    /// Number of samples.
    pub sample_count: f64,
}

/// One metric datum: a value, values with counts, or a statistic set.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricDatum {
    /// Metric name.
    pub name: String,
    /// Its unit.
    pub unit: Unit,
    /// Dimension name and value pairs.
    pub dimensions: Vec<(String, String)>,
    /// Sample values (one value, or a distribution's buckets).
    pub values: Vec<f64>,
    /// How many samples each value stands for (empty: one each).
    pub counts: Vec<f64>,
    /// Instead of values: a statistic set.
    pub statistics: Option<StatisticSet>,
}

/// What to export a report's metrics as.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricsExport {
    /// The CloudWatch namespace, e.g. `Performance/Testing`.
    pub namespace: String,
    /// Dimensions added to every metric (e.g. `Version`).
    pub dimensions: Vec<(String, String)>,
}

impl MetricsExport {
    /// Export into `namespace`.
    pub fn new(namespace: impl Into<String>) -> MetricsExport {
        MetricsExport {
            namespace: namespace.into(),
            dimensions: Vec::new(),
        }
    }

    /// Adds a dimension to every metric.
    pub fn dimension(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.dimensions.push((name.into(), value.into()));
        self
    }

    fn test_dimensions(&self, report: &Report) -> Vec<(String, String)> {
        let suite = report.name.split("::").next().unwrap_or(&report.name);
        let mut dims = vec![
            ("TestSuite".to_owned(), suite.to_owned()),
            ("Test".to_owned(), report.name.clone()),
        ];
        dims.extend(self.dimensions.iter().cloned());
        dims
    }

    /// The report's metrics as data for `PutMetricData`.
    pub fn data(&self, report: &Report) -> Vec<MetricDatum> {
        let dims = self.test_dimensions(report);
        let with = |extra: (&str, &str)| {
            let mut d = dims.clone();
            d.push((extra.0.to_owned(), extra.1.to_owned()));
            d
        };
        let value = |name: &str, unit, dimensions: Vec<(String, String)>, v: f64| MetricDatum {
            name: name.to_owned(),
            unit,
            dimensions,
            values: vec![v],
            counts: Vec::new(),
            statistics: None,
        };
        let mut data = vec![
            value(
                "Iterations",
                Unit::Count,
                dims.clone(),
                report.iterations as f64,
            ),
            value("Errors", Unit::Count, dims.clone(), report.errors as f64),
            value("ErrorRate", Unit::None, dims.clone(), report.error_rate),
            value(
                "Throughput",
                Unit::CountPerSecond,
                dims.clone(),
                report.throughput,
            ),
        ];
        if report.load.is_open() {
            data.push(value(
                "Dropped",
                Unit::Count,
                dims.clone(),
                report.dropped as f64,
            ));
        }
        if let Some(d) = distribution("Latency", dims.clone(), &report.histogram) {
            data.push(d);
        }
        for (tag, h) in &report.tag_histograms {
            data.extend(distribution("Latency", with(("Tag", tag)), h));
        }
        for (class, n) in &report.error_classes {
            data.push(value(
                "Errors",
                Unit::Count,
                with(("ErrorClass", class)),
                *n as f64,
            ));
        }
        for (name, c) in &report.custom {
            let (unit, scale) = match c.kind.as_str() {
                "duration" => (Unit::Milliseconds, 1e-6),
                "count" => (Unit::Count, 1.0),
                _ => (Unit::None, 1.0),
            };
            if c.count == 0 {
                continue;
            }
            data.push(MetricDatum {
                name: name.clone(),
                unit,
                dimensions: dims.clone(),
                values: Vec::new(),
                counts: Vec::new(),
                statistics: Some(StatisticSet {
                    minimum: c.min * scale,
                    maximum: c.max * scale,
                    sum: c.sum * scale,
                    sample_count: c.count as f64,
                }),
            });
        }
        data
    }

    /// The report's metrics as EMF JSON documents, one per dimension set
    /// (the whole test, each tag, each error class).
    pub fn emf(&self, report: &Report) -> Vec<String> {
        let dims = self.test_dimensions(report);
        let timestamp = report.started_at_unix_ms + report.elapsed_ns / 1_000_000;
        let ms = |ns: f64| ns / 1e6;
        let mut docs = Vec::new();
        let mut whole: BTreeMap<&str, (Value, Unit)> = BTreeMap::new();
        whole.insert("Iterations", (json!(report.iterations), Unit::Count));
        whole.insert("Errors", (json!(report.errors), Unit::Count));
        whole.insert("ErrorRate", (json!(report.error_rate), Unit::None));
        whole.insert(
            "Throughput",
            (json!(report.throughput), Unit::CountPerSecond),
        );
        if report.load.is_open() {
            whole.insert("Dropped", (json!(report.dropped), Unit::Count));
        }
        let latency = |m: &mut BTreeMap<&str, (Value, Unit)>, s: &crate::LatencyStats| {
            if s.count == 0 {
                return;
            }
            let p = |q: f64| s.percentile(q).map(|d| d.as_secs_f64() * 1e3);
            for (name, q) in [
                ("LatencyP50", 50.0),
                ("LatencyP95", 95.0),
                ("LatencyP99", 99.0),
            ] {
                if let Some(v) = p(q) {
                    m.insert(name, (json!(v), Unit::Milliseconds));
                }
            }
            m.insert("LatencyMean", (json!(ms(s.mean_ns)), Unit::Milliseconds));
            m.insert(
                "LatencyMax",
                (json!(ms(s.max_ns as f64)), Unit::Milliseconds),
            );
        };
        latency(&mut whole, &report.latency);
        for (name, c) in &report.custom {
            let (unit, scale) = match c.kind.as_str() {
                "duration" => (Unit::Milliseconds, 1e-6),
                "count" => (Unit::Count, 1.0),
                _ => (Unit::None, 1.0),
            };
            let v = if c.kind == "count" { c.sum } else { c.mean };
            whole.insert(name.as_str(), (json!(v * scale), unit));
        }
        docs.push(emf_doc(&self.namespace, timestamp, &dims, &whole));
        for (tag, stats) in &report.tags {
            let mut m = BTreeMap::new();
            m.insert("Iterations", (json!(stats.iterations), Unit::Count));
            m.insert("Errors", (json!(stats.errors), Unit::Count));
            latency(&mut m, &stats.latency);
            let mut d = dims.clone();
            d.push(("Tag".into(), tag.clone()));
            docs.push(emf_doc(&self.namespace, timestamp, &d, &m));
        }
        for (class, n) in &report.error_classes {
            let mut m = BTreeMap::new();
            m.insert("Errors", (json!(n), Unit::Count));
            let mut d = dims.clone();
            d.push(("ErrorClass".into(), class.clone()));
            docs.push(emf_doc(&self.namespace, timestamp, &d, &m));
        }
        docs
    }

    /// Writes the EMF documents, one per line, to `out`.
    pub fn write_emf(&self, report: &Report, out: &mut dyn Write) -> std::io::Result<()> {
        for doc in self.emf(report) {
            writeln!(out, "{doc}")?;
        }
        out.flush()
    }
}

/// One EMF document: `_aws` metadata, the dimension values and the metric
/// values as root members. At most 100 metrics per directive (the spec's
/// limit); this crate's documents stay well under it unless a test records
/// more than 90 custom metrics, which are then cut (the first 100 kept).
fn emf_doc(
    namespace: &str,
    timestamp_ms: u64,
    dims: &[(String, String)],
    metrics: &BTreeMap<&str, (Value, Unit)>,
) -> String {
    let mut root = Map::new();
    let definitions: Vec<Value> = metrics
        .iter()
        .take(100)
        .map(|(name, (_, unit))| json!({"Name": name, "Unit": unit.as_str()}))
        .collect();
    let dimension_names: Vec<&str> = dims.iter().map(|(k, _)| k.as_str()).collect();
    root.insert(
        "_aws".into(),
        json!({
            "Timestamp": timestamp_ms,
            "CloudWatchMetrics": [{
                "Namespace": namespace,
                "Dimensions": [dimension_names],
                "Metrics": definitions,
            }]
        }),
    );
    for (k, v) in dims {
        root.insert(k.clone(), Value::String(v.clone()));
    }
    for (name, (value, _)) in metrics.iter().take(100) {
        root.insert((*name).to_owned(), value.clone());
    }
    Value::Object(root).to_string()
}

/// A latency histogram as values (ms) and counts, in buckets 1% wide (so
/// percentiles computed from them are within 1%).
fn distribution(
    name: &str,
    dimensions: Vec<(String, String)>,
    h: &hdrhistogram::Histogram<u64>,
) -> Option<MetricDatum> {
    if h.is_empty() {
        return None;
    }
    let mut buckets: BTreeMap<i64, (f64, u64)> = BTreeMap::new();
    for v in h.iter_recorded() {
        let ns = v.value_iterated_to().max(1) as f64;
        let key = (ns.ln() / 1.01f64.ln()).floor() as i64;
        let b = buckets.entry(key).or_insert((0.0, 0));
        // The count-weighted mean of what falls in the bucket.
        b.0 += ns * v.count_at_value() as f64;
        b.1 += v.count_at_value();
    }
    let (values, counts) = buckets
        .values()
        .map(|(sum, n)| (sum / *n as f64 / 1e6, *n as f64))
        .unzip();
    Some(MetricDatum {
        name: name.to_owned(),
        unit: Unit::Milliseconds,
        dimensions,
        values,
        counts,
        statistics: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report() -> Report {
        crate::PerfTest::new("suite::exported")
            .no_report_file()
            .quiet()
            .workers(1)
            .repeat(200)
            .run(|ctx: crate::Ctx| async move {
                ctx.tag(if ctx.iteration() < 10 { "cold" } else { "warm" });
                ctx.record("consumed_rcu", 0.5);
                if ctx.iteration().is_multiple_of(50) {
                    ctx.error_class("throttle");
                    return Err("throttled");
                }
                std::thread::sleep(std::time::Duration::from_micros(ctx.iteration() % 7 * 100));
                Ok(())
            })
            .unwrap()
    }

    #[test]
    fn data_keeps_the_distribution_as_values_and_counts() {
        let r = report();
        let data = MetricsExport::new("Performance/Testing")
            .dimension("Version", "1.2.3")
            .data(&r);
        let latency = data
            .iter()
            .find(|d| d.name == "Latency" && d.dimensions.len() == 3)
            .unwrap();
        assert_eq!(latency.counts.iter().sum::<f64>(), 200.0);
        assert_eq!(latency.values.len(), latency.counts.len());
        assert_eq!(
            latency.dimensions,
            [
                ("TestSuite".to_owned(), "suite".to_owned()),
                ("Test".to_owned(), "suite::exported".to_owned()),
                ("Version".to_owned(), "1.2.3".to_owned()),
            ]
        );
        // The p95 computed from the buckets is within 1% of the report's.
        let mut seen = 0.0;
        let mut p95 = 0.0;
        for (v, c) in latency.values.iter().zip(&latency.counts) {
            seen += c;
            if seen >= 0.95 * 200.0 {
                p95 = *v;
                break;
            }
        }
        let expected = r.latency.percentile(95.0).unwrap().as_secs_f64() * 1e3;
        assert!((p95 / expected - 1.0).abs() < 0.011, "{p95} vs {expected}");
        let cold = data
            .iter()
            .find(|d| {
                d.name == "Latency" && d.dimensions.iter().any(|(k, v)| k == "Tag" && v == "cold")
            })
            .unwrap();
        assert_eq!(cold.counts.iter().sum::<f64>(), 10.0);
        let throttles = data
            .iter()
            .find(|d| {
                d.dimensions
                    .iter()
                    .any(|(k, v)| k == "ErrorClass" && v == "throttle")
            })
            .unwrap();
        assert_eq!(throttles.values, [4.0]);
        let rcu = data.iter().find(|d| d.name == "consumed_rcu").unwrap();
        assert_eq!(rcu.statistics.unwrap().sum, 100.0);
    }

    /// Each line validates against the EMF specification's required parts:
    /// `_aws.Timestamp` (ms), `_aws.CloudWatchMetrics[]` with `Namespace`,
    /// `Dimensions` (arrays of names, each a root string member) and
    /// `Metrics` (≤ 100, each `Name` a root number member, `Unit` valid).
    #[test]
    fn emf_lines_follow_the_specification() {
        let r = report();
        let mut out = Vec::new();
        MetricsExport::new("Performance/Testing")
            .write_emf(&r, &mut out)
            .unwrap();
        let text = String::from_utf8(out).unwrap();
        let docs: Vec<Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        // Whole test, 2 tags, 1 class (throttle).
        assert_eq!(docs.len(), 4, "{text}");
        for doc in &docs {
            let aws = &doc["_aws"];
            assert!(aws["Timestamp"].as_u64().unwrap() > 1_600_000_000_000);
            let directives = aws["CloudWatchMetrics"].as_array().unwrap();
            assert_eq!(directives.len(), 1);
            let d = &directives[0];
            assert_eq!(d["Namespace"], "Performance/Testing");
            for set in d["Dimensions"].as_array().unwrap() {
                let set = set.as_array().unwrap();
                assert!(!set.is_empty() && set.len() <= 30);
                for name in set {
                    assert!(doc[name.as_str().unwrap()].is_string(), "{name} in {doc}");
                }
            }
            let metrics = d["Metrics"].as_array().unwrap();
            assert!(!metrics.is_empty() && metrics.len() <= 100);
            for m in metrics {
                let name = m["Name"].as_str().unwrap();
                assert!(doc[name].is_number(), "{name} in {doc}");
                assert!(["Milliseconds", "Count", "Count/Second", "None"]
                    .contains(&m["Unit"].as_str().unwrap()));
            }
        }
        let whole = &docs[0];
        assert_eq!(whole["Iterations"], 200);
        assert_eq!(whole["Errors"], 4);
        assert_eq!(whole["consumed_rcu"], 0.5);
        let p95 = whole["LatencyP95"].as_f64().unwrap();
        let expected = r.latency.percentile(95.0).unwrap().as_secs_f64() * 1e3;
        assert!((p95 - expected).abs() < 1e-9);
    }
}
