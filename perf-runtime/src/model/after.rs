//! What a test does once its run is measured, as declared: compare with
//! a baseline, save one, publish the metrics. A shard result carries it so
//! that the merge applies it to the merged report.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::model::baseline::Regression;

/// The test's baseline and publishing settings, as declared (the
/// environment is read when they are applied).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct AfterRun {
    /// The baseline version to compare with.
    pub baseline: Option<String>,
    /// Regression budgets against that baseline.
    pub regressions: Vec<Regression>,
    /// Save the report as this baseline version.
    pub save_baseline: Option<String>,
    /// Where the metrics go.
    pub publish: Vec<Publish>,
    /// The CloudWatch namespace.
    pub namespace: Option<String>,
}

/// Where a perf test publishes its metrics when it finishes (off by
/// default). From the attribute (`publish = "cloudwatch"`), the builder
/// ([`PerfTest::publish`](crate::PerfTest::publish)) or `PERF_PUBLISH`
/// (comma-separated; it replaces what the test declares).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(into = "String", try_from = "String")]
pub enum Publish {
    /// EMF lines on stdout (`emf`): a Lambda function's log.
    Emf,
    /// EMF lines appended to a file (`emf:<path>`).
    EmfFile(PathBuf),
    /// `PutMetricData` (`cloudwatch`; needs the `cloudwatch` feature).
    CloudWatch,
}

impl From<perf_spec::PublishTarget> for Publish {
    fn from(t: perf_spec::PublishTarget) -> Publish {
        match t {
            perf_spec::PublishTarget::CloudWatch => Publish::CloudWatch,
            perf_spec::PublishTarget::Emf => Publish::Emf,
            perf_spec::PublishTarget::EmfFile(path) => Publish::EmfFile(path.into()),
        }
    }
}

/// The namespace used when none is given.
pub const DEFAULT_NAMESPACE: &str = "Performance/Testing";

/// As written: `emf`, `emf:<path>` or `cloudwatch`.
impl std::fmt::Display for Publish {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Publish::Emf => f.write_str("emf"),
            Publish::EmfFile(path) => write!(f, "emf:{}", path.display()),
            Publish::CloudWatch => f.write_str("cloudwatch"),
        }
    }
}

impl From<Publish> for String {
    fn from(p: Publish) -> String {
        p.to_string()
    }
}

impl TryFrom<String> for Publish {
    type Error = String;

    fn try_from(text: String) -> Result<Publish, String> {
        Publish::parse(&text)
    }
}

impl Publish {
    /// Parses `emf`, `emf:<path>` or `cloudwatch`.
    pub fn parse(text: &str) -> Result<Publish, String> {
        perf_spec::parse_publish_target(text).map(Publish::from)
    }
}
