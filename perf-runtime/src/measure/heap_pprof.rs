//! A heap profile's sampled stacks made readable: symbolised, stripped of
//! the allocator's own frames, summed per allocation site, and encoded in
//! pprof's heap format (`alloc_objects`, `alloc_space`, `inuse_objects`,
//! `inuse_space`, as `go tool pprof` reads a Go `mem.prof`).

use std::collections::HashMap;

use crate::measure::heap_profile::HeapSamples;
use crate::measure::scope::Scope;
use crate::model::profile::{short_name, HeapProfile, HeapSite};

/// How many sites the report keeps of each kind.
pub(crate) const TOP_SITES: usize = 5;

/// One (possibly inlined) function at a return address.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Symbol {
    pub(crate) name: String,
    pub(crate) file: Option<String>,
    pub(crate) line: u32,
}

/// A symbol's name without a leading `<` and the crate prefix the v0
/// mangling gives the standard library's shims
/// (`__rustc[b7974e8690430dd9]::__rust_alloc`).
fn unprefixed(name: &str) -> &str {
    let name = name.trim_start_matches('<');
    match name
        .strip_prefix("__rustc[")
        .and_then(|r| r.split_once("]::"))
    {
        Some((_, rest)) => rest,
        None => name,
    }
}

/// Frames of the allocation machinery itself: the unwinder, the tracking
/// allocator, the global allocator's shims and `alloc::alloc`. A stack
/// starts at the first frame that is not one of them. Inlined frames may
/// carry a bare name (`trace`), so their source file decides too.
fn machinery(s: &Symbol) -> bool {
    let name = unprefixed(&s.name);
    let file = s.file.as_deref().unwrap_or("").replace('\\', "/");
    name.starts_with("backtrace::")
        || name.starts_with("perf_runtime::measure::")
        || name.starts_with("__rust_")
        || name.starts_with("__rdl_")
        || name.starts_with("__rg_")
        || name.starts_with("alloc::alloc::")
        || name.starts_with("std::alloc::")
        || name.starts_with("std::sys::alloc")
        || name.contains("GlobalAlloc>::")
        || file.contains("/backtrace-0.")
        || (file.contains("perf") && file.contains("runtime") && file.contains("/src/measure/"))
        || file.ends_with("/alloc/src/alloc.rs")
        || file.ends_with("/std/src/alloc.rs")
        || file.contains("/std/src/sys/alloc/")
}

/// Frames that allocate on someone's behalf (collections, strings, boxes,
/// the runtime, other crates): the site a person looks for is their
/// caller.
fn library(s: &Symbol) -> bool {
    let name = unprefixed(&s.name);
    let file = s.file.as_deref().unwrap_or("").replace('\\', "/");
    [
        "alloc::",
        "core::",
        "std::",
        "hashbrown::",
        "tokio::",
        "futures_",
        "bytes::",
    ]
    .iter()
    .any(|p| name.starts_with(p))
        || file.starts_with("/rustc/")
        || file.contains("/.cargo/registry/")
        || file.contains("/.cargo/git/")
}

/// Whether the frame's source is in the crate under test (inside `base`,
/// the directory the test runs in, or a relative path).
fn own(s: &Symbol, base: &str) -> bool {
    match s.file.as_deref() {
        Some(f) if !base.is_empty() && f.starts_with(base) => true,
        Some(f) => !f.starts_with('/') && !f.is_empty() && !library(s),
        None => false,
    }
}

/// `file:line`, the file relative to `base` when inside it.
fn location(s: &Symbol, base: &str) -> Option<String> {
    let file = s.file.as_deref()?;
    let file = file
        .strip_prefix(base)
        .map(|f| f.trim_start_matches('/'))
        .filter(|_| !base.is_empty())
        .unwrap_or(file);
    Some(format!("{file}:{}", s.line))
}

/// Builds the profile from a run's samples, with `resolve` giving the
/// symbols at a return address (innermost first) and file paths shown
/// relative to `base`.
pub(crate) fn build(
    samples: &HeapSamples,
    mut resolve: impl FnMut(usize) -> Vec<Symbol>,
    base: &str,
    duration_ns: u64,
) -> HeapProfile {
    let mut symbols: HashMap<usize, Vec<Symbol>> = HashMap::new();
    let mut stacks: Vec<Vec<usize>> = Vec::with_capacity(samples.sites.len());
    for site in &samples.sites {
        let mut stack: Vec<usize> = Vec::with_capacity(site.stack.len());
        for &ip in site.stack.iter() {
            let syms = symbols.entry(ip).or_insert_with(|| resolve(ip));
            let allocator = !syms.is_empty() && syms.iter().all(machinery);
            if stack.is_empty() && allocator {
                continue;
            }
            stack.push(ip);
        }
        stacks.push(stack);
    }
    // The site a person reads: the first frame in the crate under test,
    // else the first outside the libraries, else the first. Sites are
    // functions (as `pprof -top` sums them); each shows the line that
    // holds (or allocated) the most of its bytes.
    let mut by_function: HashMap<String, HashMap<Option<String>, (f64, f64)>> = HashMap::new();
    for (site, stack) in samples.sites.iter().zip(&stacks) {
        let all = stack.iter().flat_map(|ip| symbols[ip].iter());
        let chosen = all
            .clone()
            .find(|s| own(s, base) && !machinery(s))
            .or_else(|| all.clone().find(|s| !library(s) && !machinery(s)))
            .or_else(|| all.clone().next());
        let (function, location) = match chosen {
            Some(s) => (short_name(&s.name).to_owned(), location(s, base)),
            None => ("(unknown)".to_owned(), None),
        };
        let e = by_function
            .entry(function)
            .or_default()
            .entry(location)
            .or_default();
        e.0 += site.alloc_space;
        e.1 += site.inuse_space;
    }
    let alloc_bytes: f64 = samples.sites.iter().map(|s| s.alloc_space).sum();
    let inuse_bytes: f64 = samples.sites.iter().map(|s| s.inuse_space).sum();
    let top = |key: fn(&(f64, f64)) -> f64, total: f64| {
        let mut all: Vec<(f64, HeapSite)> = by_function
            .iter()
            .map(|(function, lines)| {
                let sum = lines
                    .values()
                    .fold((0.0, 0.0), |a, b| (a.0 + b.0, a.1 + b.1));
                let line = lines
                    .iter()
                    .max_by(|a, b| key(a.1).total_cmp(&key(b.1)).then_with(|| b.0.cmp(a.0)))
                    .and_then(|(l, _)| l.clone());
                let site = HeapSite {
                    function: function.clone(),
                    location: line,
                    alloc_bytes: sum.0,
                    inuse_bytes: sum.1,
                    share: if total > 0.0 { key(&sum) / total } else { 0.0 },
                };
                (key(&sum), site)
            })
            .filter(|(k, _)| *k > 0.0)
            .collect();
        all.sort_by(|a, b| {
            b.0.total_cmp(&a.0)
                .then_with(|| a.1.function.cmp(&b.1.function))
        });
        all.truncate(TOP_SITES);
        all.into_iter().map(|(_, s)| s).collect::<Vec<_>>()
    };
    let top_inuse = top(|s| s.1, inuse_bytes);
    let top_alloc = top(|s| s.0, alloc_bytes);
    HeapProfile {
        rate_bytes: samples.rate,
        samples: samples.sites.iter().map(|s| s.samples).sum(),
        dropped_samples: samples.dropped,
        alloc_bytes,
        inuse_bytes,
        top_inuse,
        top_alloc,
        files: Vec::new(),
        unavailable: None,
        pprof_gz: encode(samples, &stacks, &symbols, duration_ns),
    }
}

/// pprof's heap profile, gzipped (empty if it could not be compressed).
fn encode(
    samples: &HeapSamples,
    stacks: &[Vec<usize>],
    symbols: &HashMap<usize, Vec<Symbol>>,
    duration_ns: u64,
) -> Vec<u8> {
    #[cfg(all(unix, feature = "heap-profile"))]
    {
        pprof_bytes(samples, stacks, symbols, duration_ns)
    }
    #[cfg(not(all(unix, feature = "heap-profile")))]
    {
        let _ = (samples, stacks, symbols, duration_ns);
        Vec::new()
    }
}

#[cfg(all(unix, feature = "heap-profile"))]
fn pprof_bytes(
    samples: &HeapSamples,
    stacks: &[Vec<usize>],
    symbols: &HashMap<usize, Vec<Symbol>>,
    duration_ns: u64,
) -> Vec<u8> {
    use pprof::protos::{self, Message as _};

    let mut strings: Vec<String> = vec![String::new()];
    let mut string_ids: HashMap<String, i64> = HashMap::new();
    let mut id = |s: &str| -> i64 {
        if s.is_empty() {
            return 0;
        }
        if let Some(&i) = string_ids.get(s) {
            return i;
        }
        strings.push(s.to_owned());
        let i = strings.len() as i64 - 1;
        string_ids.insert(s.to_owned(), i);
        i
    };
    let value_type = |id: &mut dyn FnMut(&str) -> i64, ty: &str, unit: &str| protos::ValueType {
        ty: id(ty),
        unit: id(unit),
    };
    let sample_type = vec![
        value_type(&mut id, "alloc_objects", "count"),
        value_type(&mut id, "alloc_space", "bytes"),
        value_type(&mut id, "inuse_objects", "count"),
        value_type(&mut id, "inuse_space", "bytes"),
    ];
    let period_type = Some(value_type(&mut id, "space", "bytes"));
    let default_sample_type = id("inuse_space");
    let bytes_key = id("bytes");
    let mut functions: Vec<protos::Function> = Vec::new();
    let mut function_ids: HashMap<(String, Option<String>), u64> = HashMap::new();
    let mut locations: Vec<protos::Location> = Vec::new();
    let mut location_ids: HashMap<usize, u64> = HashMap::new();
    let mut out_samples = Vec::with_capacity(stacks.len());
    for (site, stack) in samples.sites.iter().zip(stacks) {
        let mut location_id = Vec::with_capacity(stack.len());
        for &ip in stack {
            let next = locations.len() as u64 + 1;
            let lid = *location_ids.entry(ip).or_insert(next);
            if lid == next {
                let line = symbols[&ip]
                    .iter()
                    .map(|s| {
                        let key = (s.name.clone(), s.file.clone());
                        let next = functions.len() as u64 + 1;
                        let fid = *function_ids.entry(key).or_insert(next);
                        if fid == next {
                            functions.push(protos::Function {
                                id: fid,
                                name: id(short_name(&s.name)),
                                system_name: id(&s.name),
                                filename: id(s.file.as_deref().unwrap_or("")),
                                start_line: 0,
                            });
                        }
                        protos::Line {
                            function_id: fid,
                            line: i64::from(s.line),
                        }
                    })
                    .collect();
                locations.push(protos::Location {
                    id: lid,
                    mapping_id: 0,
                    address: ip as u64,
                    line,
                    is_folded: false,
                });
            }
            location_id.push(lid);
        }
        let mean_size = if site.alloc_objects > 0.0 {
            (site.alloc_space / site.alloc_objects).round() as i64
        } else {
            0
        };
        out_samples.push(protos::Sample {
            location_id,
            value: [
                site.alloc_objects,
                site.alloc_space,
                site.inuse_objects,
                site.inuse_space,
            ]
            .map(|v| v.round() as i64)
            .to_vec(),
            label: vec![protos::Label {
                key: bytes_key,
                str: 0,
                num: mean_size,
                num_unit: bytes_key,
            }],
        });
    }
    let time_nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as i64);
    let profile = protos::Profile {
        sample_type,
        sample: out_samples,
        mapping: Vec::new(),
        location: locations,
        function: functions,
        string_table: strings,
        drop_frames: 0,
        keep_frames: 0,
        time_nanos,
        duration_nanos: i64::try_from(duration_ns).unwrap_or(i64::MAX),
        period_type,
        period: i64::try_from(samples.rate).unwrap_or(i64::MAX),
        comment: Vec::new(),
        default_sample_type,
    };
    crate::model::profile::gzip(&profile.encode_to_vec()).unwrap_or_default()
}

/// The heap profile of a finished run of `duration` whose allocations were
/// counted in `scope` (`None`: no scope of its own), its sites shown
/// relative to `base`.
pub(crate) fn finish(
    scope: Option<&Scope>,
    rate: u64,
    base: &std::path::Path,
    duration: std::time::Duration,
) -> HeapProfile {
    let Some(scope) = scope else {
        let why = if crate::measure::alloc::is_installed() {
            "`run_async` runs on your runtime, whose threads have no allocation scope: use `run`"
        } else {
            "it needs the tracking allocator: add `perf_runtime::track_allocations!();` to the test file"
        };
        return HeapProfile::unavailable(rate, why);
    };
    let base = base.to_str().unwrap_or_default();
    let duration_ns = u64::try_from(duration.as_nanos()).unwrap_or(u64::MAX);
    let Some(table) = scope.heap() else {
        return HeapProfile::unavailable(
            rate,
            "perf-runtime was built without its `heap-profile` feature (or not for Unix)",
        );
    };
    // Symbolising reads the binary's debug information: not the test's
    // memory.
    let _paused = crate::measure::scope::pause();
    let samples = table.snapshot();
    #[cfg(all(unix, feature = "heap-profile"))]
    {
        build(&samples, resolve, base, duration_ns)
    }
    #[cfg(not(all(unix, feature = "heap-profile")))]
    {
        build(&samples, |_| Vec::new(), base, duration_ns)
    }
}

/// The symbols at a return address in this process, innermost first.
#[cfg(all(unix, feature = "heap-profile"))]
pub(crate) fn resolve(ip: usize) -> Vec<Symbol> {
    let mut out = Vec::new();
    backtrace::resolve(ip as *mut std::ffi::c_void, |s| {
        out.push(Symbol {
            name: s
                .name()
                .map_or_else(|| format!("{ip:#x}"), |n| n.to_string()),
            file: s.filename().map(|f| f.display().to_string()),
            line: s.lineno().unwrap_or(0),
        });
    });
    out
}

#[cfg(test)]
mod tests;
