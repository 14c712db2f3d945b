//! Loading results: report files, baseline files, directories of them, and
//! baseline versions.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use perf_runtime::Report;

/// Results by test name.
pub type Results = BTreeMap<String, Report>;

/// Reads a report or a baseline file.
pub fn read_file(path: &Path) -> Result<Report> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    if text.contains("\"format\": \"perf-runtime-baseline\"")
        || text.contains("\"format\":\"perf-runtime-baseline\"")
    {
        return Ok(perf_runtime::baseline::parse(path, &text)?.report);
    }
    let mut report: Report = serde_json::from_str(&text).with_context(|| {
        format!(
            "{} is not a perf-runtime report or baseline",
            path.display()
        )
    })?;
    report.path = Some(path.to_owned());
    Ok(report)
}

fn json_files(dir: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    for entry in
        std::fs::read_dir(dir).with_context(|| format!("reading directory {}", dir.display()))?
    {
        let path = entry?.path();
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        if name.starts_with('.') || name == "report" {
            continue;
        }
        if path.is_dir() {
            json_files(&path, out)?;
        } else if name.ends_with(".json") && !name.ends_with("comparison.json") {
            out.push(path);
        }
    }
    Ok(())
}

/// Loads one input: a file, a directory (recursively), or a baseline
/// version name.
pub fn load(input: &str) -> Result<Results> {
    let path = Path::new(input);
    let path = if path.exists() {
        path.to_owned()
    } else if perf_runtime::baseline::check_version(input).is_ok() {
        let dir = perf_runtime::baseline::default_dir().join(input);
        if !dir.is_dir() {
            bail!(
                "{input:?} is neither a file, a directory, nor a saved baseline (no {})",
                dir.display()
            );
        }
        dir
    } else {
        bail!("{input:?} does not exist");
    };
    let mut files = Vec::new();
    if path.is_dir() {
        json_files(&path, &mut files)?;
        files.sort();
    } else {
        files.push(path.clone());
    }
    let mut results = Results::new();
    for file in files {
        let report = read_file(&file)?;
        if let Some(previous) = results.insert(report.name.clone(), report) {
            bail!("{} holds two results for {}", path.display(), previous.name);
        }
    }
    if results.is_empty() {
        bail!("no results in {}", path.display());
    }
    Ok(results)
}

/// Loads several inputs (default: the reports under target/perf).
pub fn load_all(inputs: &[String]) -> Result<Results> {
    let default = [default_reports()];
    let inputs: Vec<String> = if inputs.is_empty() {
        default.to_vec()
    } else {
        inputs.to_vec()
    };
    let mut all = Results::new();
    for input in &inputs {
        all.extend(load(input)?);
    }
    Ok(all)
}

/// `$CARGO_TARGET_DIR/perf`, else `target/perf`.
fn default_reports() -> String {
    let target = std::env::var("CARGO_TARGET_DIR").unwrap_or_else(|_| "target".into());
    Path::new(&target).join("perf").display().to_string()
}
