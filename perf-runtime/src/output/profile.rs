//! The profiles in the summary: how many samples, where the files are,
//! the functions with the most self time (CPU) and the allocation sites
//! that matter (heap).

use perf_spec::format_size;

use crate::model::memory::MemoryStats;
use crate::model::profile::{short_name, CpuProfile, HeapProfile, HeapSite};

/// Where a profile's files are, or why there are none.
fn files(written: &[String]) -> String {
    if written.is_empty() {
        "not written (no report file: set PERF_REPORT_DIR, or drop `no_report_file`)".to_owned()
    } else {
        written.join(" · ")
    }
}

/// The `cpu profile` line and, under it, one line per top function.
pub(crate) fn lines(p: &CpuProfile) -> (String, Vec<String>) {
    if let Some(why) = &p.unavailable {
        return (format!("not taken: {why}"), Vec::new());
    }
    let files = files(&p.files);
    let head = format!(
        "{} samples at {} Hz ({:.1} s of CPU) · {files}",
        p.samples,
        p.frequency_hz,
        p.samples as f64 / f64::from(p.frequency_hz.max(1))
    );
    let top = p
        .top
        .iter()
        .map(|t| format!("{:>5.1}%  {}", t.self_share * 100.0, short_name(&t.name)))
        .collect();
    (head, top)
}

/// The `heap profile` line and, under it, the sites that matter: when a
/// leak was detected, those holding the most at the end ("retained at
/// end: 3.9 MiB, 96% from `orders::cache::insert` (src/cache.rs:42)");
/// otherwise those that allocated the most.
pub(crate) fn heap_lines(p: &HeapProfile, memory: Option<&MemoryStats>) -> (String, Vec<String>) {
    if let Some(why) = &p.unavailable {
        return (format!("not taken: {why}"), Vec::new());
    }
    let files = files(&p.files);
    let dropped = if p.dropped_samples > 0 {
        format!(" ({} dropped: too many distinct stacks)", p.dropped_samples)
    } else {
        String::new()
    };
    let head = format!(
        "{} samples, 1 per {} allocated{dropped} · {} allocated, {} in use at end (estimated) · {files}",
        p.samples,
        format_size(p.rate_bytes as f64),
        format_size(p.alloc_bytes),
        format_size(p.inuse_bytes),
    );
    let site = |s: &HeapSite| match &s.location {
        Some(at) => format!("`{}` ({at})", s.function),
        None => format!("`{}`", s.function),
    };
    let leak = memory.filter(|m| m.leak.detected);
    let lines = match (leak, p.top_inuse.split_first()) {
        (Some(m), Some((top, rest))) => {
            let retained = m.live_bytes_at_end.max(0) as f64;
            std::iter::once(format!(
                "retained at end: {}, {:.0}% from {}",
                format_size(retained),
                top.share * 100.0,
                site(top)
            ))
            .chain(rest.iter().take(2).map(|s| {
                format!(
                    "{:>5.1}% of what is retained from {}",
                    s.share * 100.0,
                    site(s)
                )
            }))
            .collect()
        }
        _ => p
            .top_alloc
            .iter()
            .take(3)
            .map(|s| {
                format!(
                    "{:>5.1}% of bytes allocated at {}",
                    s.share * 100.0,
                    site(s)
                )
            })
            .collect(),
    };
    (head, lines)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::profile::TopFunction;

    #[test]
    fn samples_files_and_the_top_functions() {
        let p = CpuProfile {
            frequency_hz: 99,
            samples: 198,
            top: vec![TopFunction {
                name: "profiled::hot_spin::h0123456789abcdef".into(),
                self_samples: 150,
                self_share: 150.0 / 198.0,
            }],
            files: vec!["t.cpu.pb.gz".into(), "t.flamegraph.svg".into()],
            ..CpuProfile::default()
        };
        let (head, top) = lines(&p);
        assert_eq!(
            head,
            "198 samples at 99 Hz (2.0 s of CPU) · t.cpu.pb.gz · t.flamegraph.svg"
        );
        assert_eq!(top, [" 75.8%  profiled::hot_spin"]);
        let none = CpuProfile::unavailable(99, "no profiler here");
        assert_eq!(lines(&none).0, "not taken: no profiler here");
    }

    fn heap_site(function: &str, at: Option<&str>, alloc: f64, inuse: f64, share: f64) -> HeapSite {
        HeapSite {
            function: function.into(),
            location: at.map(Into::into),
            alloc_bytes: alloc,
            inuse_bytes: inuse,
            share,
        }
    }

    #[test]
    fn a_leak_names_the_site_that_holds_what_is_retained() {
        let p = HeapProfile {
            rate_bytes: 512 * 1024,
            samples: 812,
            alloc_bytes: 12.0 * 1024.0 * 1024.0,
            inuse_bytes: 3.9 * 1024.0 * 1024.0,
            top_inuse: vec![
                heap_site(
                    "orders::cache::insert",
                    Some("src/cache.rs:42"),
                    4e6,
                    3.8e6,
                    0.96,
                ),
                heap_site("orders::log", None, 1e5, 1e5, 0.03),
            ],
            top_alloc: vec![heap_site(
                "orders::scratch",
                Some("src/h.rs:7"),
                8e6,
                0.0,
                0.66,
            )],
            files: vec!["t.heap.pb.gz".into()],
            ..HeapProfile::default()
        };
        let (head, sites) = heap_lines(&p, None);
        assert_eq!(
            head,
            "812 samples, 1 per 512 KiB allocated · 12 MiB allocated, 3.9 MiB in use at end (estimated) · t.heap.pb.gz"
        );
        assert_eq!(
            sites,
            [" 66.0% of bytes allocated at `orders::scratch` (src/h.rs:7)"],
            "no leak: where bytes were allocated"
        );
        let mut memory: MemoryStats = serde_json::from_str(
            r#"{"allocations":1,"deallocations":0,"bytes_allocated":1,"allocs_per_iter":1,"bytes_per_iter":1,
                "peak_live_bytes":1,"live_bytes_at_end":4089446,
                "leak":{"detected":true,"bytes_per_iter":200,"r_squared":0.99,"checkpoints":100}}"#,
        )
        .unwrap();
        let (_, sites) = heap_lines(&p, Some(&memory));
        assert_eq!(
            sites,
            [
                "retained at end: 3.9 MiB, 96% from `orders::cache::insert` (src/cache.rs:42)",
                "  3.0% of what is retained from `orders::log`",
            ]
        );
        memory.leak.detected = false;
        assert_eq!(heap_lines(&p, Some(&memory)).1.len(), 1);
        let none = HeapProfile::unavailable(1, "it needs the tracking allocator");
        assert_eq!(
            heap_lines(&none, None).0,
            "not taken: it needs the tracking allocator"
        );
    }
}
