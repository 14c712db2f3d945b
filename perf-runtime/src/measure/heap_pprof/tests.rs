use super::*;
use crate::measure::heap_profile::Site;

fn sym(name: &str, file: &str, line: u32) -> Symbol {
    Symbol {
        name: name.to_owned(),
        file: Some(file.to_owned()),
        line,
    }
}

/// Return addresses 1–9 of a made-up binary: the allocator's frames, a
/// `Vec` growing, and two callers of it.
fn resolve(ip: usize) -> Vec<Symbol> {
    match ip {
        1 => vec![sym("backtrace::backtrace::trace_unsynchronized::h0123456789abcdef", "/rust/backtrace.rs", 1)],
        2 => vec![
            sym("perf_runtime::measure::scope::sample", "/src/scope.rs", 2),
            sym("perf_runtime::measure::scope::on_alloc", "/src/scope.rs", 3),
        ],
        3 => vec![sym("<perf_runtime::measure::alloc::TrackingAllocator<A> as core::alloc::global::GlobalAlloc>::alloc", "/src/alloc.rs", 4)],
        4 => vec![sym("__rustc[b7974e8690430dd9]::__rust_alloc", "", 0)],
        5 => vec![
            sym("alloc::raw_vec::RawVec<T,A>::grow_one", "/rust/raw_vec.rs", 5),
            sym("alloc::vec::Vec<T,A>::push", "/rust/vec.rs", 6),
        ],
        6 => vec![sym("orders::cache::insert::h00112233445566ff", "/work/app/src/cache.rs", 42)],
        7 => vec![sym("orders::handler::scratch", "/work/app/src/handler.rs", 7)],
        8 => vec![sym("orders::main", "/work/app/src/main.rs", 1)],
        _ => Vec::new(),
    }
}

fn site(stack: &[usize], samples: u64, alloc: f64, inuse: f64) -> Site {
    Site {
        stack: stack.into(),
        samples,
        alloc_objects: alloc / 200.0,
        alloc_space: alloc,
        inuse_objects: inuse / 200.0,
        inuse_space: inuse,
    }
}

fn samples() -> HeapSamples {
    HeapSamples {
        rate: 4_096,
        sites: vec![
            // The leak: everything it allocated is still held.
            site(&[1, 2, 3, 4, 5, 6, 8], 90, 3_900_000.0, 3_900_000.0),
            // Scratch space: allocates more, frees it all but a little.
            site(&[1, 2, 3, 4, 5, 7, 8], 300, 12_000_000.0, 100_000.0),
        ],
        dropped: 0,
    }
}

#[test]
fn sites_are_the_first_frames_outside_the_allocator_and_libraries() {
    let p = build(&samples(), resolve, "/work/app", 1_000_000_000);
    assert_eq!(p.samples, 390);
    assert_eq!(
        p.top_inuse[0].function, "orders::cache::insert",
        "hash dropped"
    );
    assert_eq!(p.top_inuse[0].location.as_deref(), Some("src/cache.rs:42"));
    assert!((p.top_inuse[0].share - 0.975).abs() < 1e-9);
    assert_eq!(p.top_alloc[0].function, "orders::handler::scratch");
    assert!((p.inuse_bytes - 4_000_000.0).abs() < 1e-6);
    assert!((p.alloc_bytes - 15_900_000.0).abs() < 1e-6);
}

#[test]
fn a_stack_of_library_frames_only_is_named_by_its_first() {
    let s = HeapSamples {
        rate: 1,
        sites: vec![site(&[1, 3, 5], 1, 10.0, 10.0), site(&[1, 99], 1, 5.0, 0.0)],
        dropped: 0,
    };
    let p = build(&s, resolve, "", 0);
    assert_eq!(
        p.top_inuse[0].function,
        "alloc::raw_vec::RawVec<T,A>::grow_one"
    );
    assert_eq!(
        p.top_inuse[0].location.as_deref(),
        Some("/rust/raw_vec.rs:5"),
        "no base: the path as it is"
    );
    assert_eq!(p.top_alloc.len(), 2);
    assert_eq!(p.top_alloc[1].function, "(unknown)", "unresolved frames");
    assert_eq!(p.top_inuse.len(), 1, "sites holding nothing are left out");
}

#[cfg(all(unix, feature = "heap-profile"))]
#[test]
fn the_pprof_file_has_the_four_heap_sample_types_without_the_allocator() {
    use pprof::protos::Message as _;
    use std::io::Read as _;

    let p = build(&samples(), resolve, "/work/app", 2_000);
    let mut raw = Vec::new();
    flate2::read::GzDecoder::new(&p.pprof_gz[..])
        .read_to_end(&mut raw)
        .unwrap();
    let profile = pprof::protos::Profile::decode(&raw[..]).unwrap();
    let s = |i: i64| profile.string_table[i as usize].as_str();
    let types: Vec<(&str, &str)> = profile
        .sample_type
        .iter()
        .map(|t| (s(t.ty), s(t.unit)))
        .collect();
    assert_eq!(
        types,
        [
            ("alloc_objects", "count"),
            ("alloc_space", "bytes"),
            ("inuse_objects", "count"),
            ("inuse_space", "bytes")
        ]
    );
    assert_eq!(s(profile.default_sample_type), "inuse_space");
    assert_eq!(profile.period, 4_096);
    assert_eq!(profile.duration_nanos, 2_000);
    let leak = &profile.sample[0];
    assert_eq!(leak.value, [19_500, 3_900_000, 19_500, 3_900_000]);
    assert_eq!(leak.label[0].num, 200, "mean object size");
    // Leaf first, from the first frame past the allocator (address 5).
    let names: Vec<Vec<&str>> = leak
        .location_id
        .iter()
        .map(|id| {
            let loc = &profile.location[*id as usize - 1];
            assert_eq!(loc.id, *id);
            loc.line
                .iter()
                .map(|l| s(profile.function[l.function_id as usize - 1].name))
                .collect()
        })
        .collect();
    assert_eq!(
        names,
        [
            vec![
                "alloc::raw_vec::RawVec<T,A>::grow_one",
                "alloc::vec::Vec<T,A>::push"
            ],
            vec!["orders::cache::insert"],
            vec!["orders::main"],
        ]
    );
    assert_eq!(
        profile.location.len(),
        4,
        "addresses 5, 6, 8 and 7, each once"
    );
}

#[test]
fn a_site_is_a_function_shown_at_its_heaviest_line() {
    let at = |line| {
        move |ip: usize| match ip {
            1 => vec![sym("app::insert", "/w/src/a.rs", line)],
            _ => vec![sym("app::insert", "/w/src/a.rs", 9)],
        }
    };
    let s = HeapSamples {
        rate: 1,
        sites: vec![site(&[1], 1, 300.0, 100.0), site(&[2], 1, 100.0, 200.0)],
        dropped: 0,
    };
    let p = build(&s, at(5), "/w", 0);
    assert_eq!(p.top_inuse.len(), 1, "one function, two lines");
    assert_eq!(
        (p.top_inuse[0].inuse_bytes, p.top_inuse[0].share),
        (300.0, 1.0)
    );
    assert_eq!(
        p.top_inuse[0].location.as_deref(),
        Some("src/a.rs:9"),
        "holds the most"
    );
    assert_eq!(
        p.top_alloc[0].location.as_deref(),
        Some("src/a.rs:5"),
        "allocated the most"
    );
}
