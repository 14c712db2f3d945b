//! `perf-report merge`: the shard results of distributed runs, merged into
//! the reports a single machine would have written, with the thresholds
//! judged once on the merged data.

use crate::out::outln;
use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{bail, Result};
use perf_runtime::after::AfterRun;
use perf_runtime::shard::{self, ShardResult};
use perf_runtime::Report;

/// Reads every input (a shard result file, a directory searched
/// recursively, or an `s3://bucket/prefix/`).
pub fn load(inputs: &[String]) -> Result<Vec<ShardResult>> {
    let mut all = Vec::new();
    for input in inputs {
        if input.starts_with("s3://") {
            all.extend(read_s3(input)?);
            continue;
        }
        let path = Path::new(input);
        if path.is_dir() {
            let files = crate::inputs::walk(path, &|name| {
                name.ends_with(".json") && name.contains(".shard-")
            })?;
            if files.is_empty() {
                bail!(
                    "no shard results (*.shard-I-of-N.json) in {}",
                    path.display()
                );
            }
            for f in files {
                all.push(ShardResult::read(&f).map_err(anyhow::Error::msg)?);
            }
        } else if path.exists() {
            crate::inputs::check_regular(path)?;
            all.push(ShardResult::read(path).map_err(anyhow::Error::msg)?);
        } else {
            bail!("{input:?} does not exist");
        }
    }
    if all.is_empty() {
        bail!("no shard results given");
    }
    Ok(all)
}

#[cfg(feature = "s3")]
fn read_s3(url: &str) -> Result<Vec<ShardResult>> {
    use anyhow::Context as _;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("building a tokio runtime for S3")?;
    let results = runtime
        .block_on(perf_runtime::aws::s3::read_results(url))
        .map_err(anyhow::Error::msg)?;
    if results.is_empty() {
        bail!("no shard results (*.shard-I-of-N.json) under {url}");
    }
    Ok(results)
}

#[cfg(not(feature = "s3"))]
fn read_s3(url: &str) -> Result<Vec<ShardResult>> {
    bail!(
        "{url}: reading shard results from S3 needs perf-report's `s3` feature, which is off by default; \
         build it with `cargo run -p perf-report --features s3 -- merge …` \
         or `cargo install --path perf-report --features s3`"
    )
}

/// Merges per test; every test's shards must all be there exactly once.
/// Each merged report comes with the test's baseline and publishing
/// settings (every shard carries the same; the first shard's are used).
pub fn merge_all(results: Vec<ShardResult>) -> Result<Vec<(Report, AfterRun)>> {
    let mut by_test: BTreeMap<String, Vec<ShardResult>> = BTreeMap::new();
    for r in results {
        by_test.entry(r.name.clone()).or_default().push(r);
    }
    by_test
        .into_values()
        .map(|shards| {
            let after = shards[0].after.clone();
            let report = shard::merge(shards)?;
            Ok((report, after))
        })
        .collect()
}

/// `perf-report merge`: judges each merged report against its baseline and
/// saves or publishes it as the test declares (and as `PERF_BASELINE`,
/// `PERF_REQUIRE_BASELINE`, `PERF_SAVE_BASELINE`, `PERF_BASELINE_DIR`,
/// `PERF_PUBLISH`, `PERF_NAMESPACE` and `PERF_VERSION` say, as in a
/// single-machine run), prints its summary, writes the JSON reports under
/// `out` (and HTML with `html`); `Ok(false)` when a merged test failed.
pub fn run(inputs: &[String], out: &Path, html: Option<&Path>) -> Result<bool> {
    let reports = merge_all(load(inputs)?)?;
    let baselines = perf_runtime::baseline::default_dir();
    let env = perf_runtime::after::process_env;
    let mut passed = true;
    let mut written = Vec::new();
    for (mut report, after) in reports {
        let path = perf_runtime::report_path(out, &report.name);
        report.path = Some(path.clone());
        after.finish(&mut report, &baselines, Some(&path), &env, |summary| {
            outln!("{summary}");
        })?;
        written.push(path.display().to_string());
        passed &= report.passed;
    }
    if let Some(dir) = html {
        crate::html::run(&written, None, dir)?;
        outln!("html: {}", dir.join("index.html").display());
    }
    Ok(passed)
}
