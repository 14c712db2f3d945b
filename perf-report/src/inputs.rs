//! Loading results: report files, baseline files, directories of them, and
//! baseline versions.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use perf_runtime::Report;

/// Results by test name.
pub type Results = BTreeMap<String, Report>;

/// What a result file holds, by its `format` field.
fn is_shard_result(text: &str) -> bool {
    text.contains("\"format\":\"perf-runtime-shard\"")
        || text.contains("\"format\": \"perf-runtime-shard\"")
}

/// Reads a report or a baseline file; `Ok(None)` for a shard result (its
/// figures reach reports through `perf-report merge`).
pub fn read_file(path: &Path) -> Result<Option<Report>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    if text.contains("\"format\": \"perf-runtime-baseline\"")
        || text.contains("\"format\":\"perf-runtime-baseline\"")
    {
        return Ok(Some(perf_runtime::baseline::parse(path, &text)?.report));
    }
    if is_shard_result(&text) {
        return Ok(None);
    }
    let mut report: Report = serde_json::from_str(&text).with_context(|| {
        format!(
            "{} is not a perf-runtime report or baseline",
            path.display()
        )
    })?;
    report
        .check_schema()
        .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    report.path = Some(path.to_owned());
    Ok(Some(report))
}

/// The files under `dir` whose names `wanted` accepts, recursively, in
/// order. Symbolic links to directories are not followed (a link to `.`
/// would loop forever) and anything that is not a regular file (a FIFO
/// named `*.json` would block the read) is skipped; both are said on
/// stderr. Hidden entries and rendered `report` directories are skipped.
pub fn walk(dir: &Path, wanted: &dyn Fn(&str) -> bool) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    walk_into(dir, wanted, &mut out)?;
    out.sort();
    Ok(out)
}

fn walk_into(dir: &Path, wanted: &dyn Fn(&str) -> bool, out: &mut Vec<PathBuf>) -> Result<()> {
    for entry in
        std::fs::read_dir(dir).with_context(|| format!("reading directory {}", dir.display()))?
    {
        let entry = entry.with_context(|| format!("reading directory {}", dir.display()))?;
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') || name == "report" {
            continue;
        }
        // The entry itself, not what a link points at.
        let kind = entry
            .file_type()
            .with_context(|| format!("reading {}", path.display()))?;
        if kind.is_dir() {
            walk_into(&path, wanted, out)?;
            continue;
        }
        if !wanted(&name) {
            continue;
        }
        let target = if kind.is_symlink() {
            std::fs::metadata(&path).ok()
        } else {
            entry.metadata().ok()
        };
        match target {
            Some(m) if m.is_file() => out.push(path),
            Some(m) if m.is_dir() => eprintln!(
                "perf-report: skipping {}: a link to a directory (links are not followed)",
                path.display()
            ),
            _ => eprintln!(
                "perf-report: skipping {}: not a regular file",
                path.display()
            ),
        }
    }
    Ok(())
}

/// A file given by name must be a regular file (a FIFO would block).
pub fn check_regular(path: &Path) -> Result<()> {
    let meta = std::fs::metadata(path).with_context(|| format!("reading {}", path.display()))?;
    if !meta.is_file() {
        bail!("{} is not a regular file", path.display());
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
        let dir = perf_runtime::baseline::default_dir_from(&current_dir()?).join(input);
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
    let files = if path.is_dir() {
        walk(&path, &|name| {
            name.ends_with(".json") && !name.ends_with("comparison.json")
        })?
    } else {
        check_regular(&path)?;
        vec![path.clone()]
    };
    let mut results = Results::new();
    for file in files {
        let Some(report) = read_file(&file)? else {
            if file == path {
                bail!(
                    "{} is a shard result: merge the shards with `perf-report merge` first",
                    file.display()
                );
            }
            continue;
        };
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
    let inputs: Vec<String> = if inputs.is_empty() {
        vec![default_reports()?]
    } else {
        inputs.to_vec()
    };
    let mut all = Results::new();
    for input in &inputs {
        all.extend(load(input)?);
    }
    Ok(all)
}

/// The directory the tool was run in: where it looks for the workspace
/// (never its own manifest's, which `cargo run` points
/// `CARGO_MANIFEST_DIR` at).
pub fn current_dir() -> Result<PathBuf> {
    std::env::current_dir().context("reading the current directory")
}

/// `$CARGO_TARGET_DIR/perf`, else `target/perf` of the workspace the tool
/// is run in (from a member's directory too), else `./target/perf`.
fn default_reports() -> Result<String> {
    let target = match std::env::var_os("CARGO_TARGET_DIR").filter(|t| !t.is_empty()) {
        Some(t) => PathBuf::from(t),
        None => {
            let cwd = current_dir()?;
            let root = perf_runtime::baseline::workspace_root(&cwd);
            let at_root = root.join("target");
            if at_root.is_dir() {
                at_root
            } else {
                cwd.join("target")
            }
        }
    };
    Ok(target.join("perf").display().to_string())
}
