//! The attribute's reference (the rustdoc of `perf_test` in lib.rs) must
//! document every key the parser accepts and every threshold metric
//! perf-spec knows, each in a table row with an example (and, where one
//! exists, the builder call): a key added to the parser without docs fails
//! here.

use crate::parse::KEYS;
use perf_spec::METRIC_NAMES;

/// The rustdoc of lib.rs, without the `/// ` markers.
fn reference() -> String {
    include_str!("lib.rs")
        .lines()
        .filter_map(|l| l.trim_start().strip_prefix("///"))
        .map(str::trim)
        .collect::<Vec<_>>()
        .join("\n")
}

/// The table rows whose first cell names `name` (as `` `name` `` or
/// `` `name` (…) `` or in a list of names).
fn rows_for<'a>(doc: &'a str, name: &str) -> Vec<&'a str> {
    let tick = format!("`{name}`");
    doc.lines()
        .filter(|l| l.starts_with("| "))
        .filter(|l| {
            l.split('|')
                .nth(1)
                .is_some_and(|first| first.contains(&tick))
        })
        .collect()
}

#[test]
fn every_key_is_documented_with_an_example() {
    let doc = reference();
    let mut missing = Vec::new();
    for key in KEYS {
        let rows = rows_for(&doc, key);
        let documented = rows.iter().any(|row| {
            let example = row.split('|').nth(2).unwrap_or_default();
            // The example writes the key as it is used: `key = …` or the bare flag.
            example.contains(&format!("`{key} =")) || example.contains(&format!("`{key}`"))
        });
        if !documented {
            missing.push(*key);
        }
    }
    assert!(
        missing.is_empty(),
        "keys without a documented example: {missing:?}"
    );
}

#[test]
fn every_metric_is_documented_with_an_example_and_its_builder() {
    let doc = reference();
    let mut missing = Vec::new();
    for metric in METRIC_NAMES {
        let ok = rows_for(&doc, metric).iter().any(|row| {
            let cells: Vec<&str> = row.split('|').collect();
            let example = cells.get(2).copied().unwrap_or_default();
            let builder = cells.get(3).copied().unwrap_or_default();
            example.contains('`') && builder.contains("Threshold::")
        });
        if !ok {
            missing.push(*metric);
        }
    }
    assert!(
        missing.is_empty(),
        "metrics without example and builder: {missing:?}"
    );
    // The forms that are not names of their own.
    for form in [
        "p(99.99)",
        "_rate",
        "per \"10s\"",
        "for \"tag\"",
        "of \"name\"",
        "regression",
    ] {
        assert!(doc.contains(form), "the reference does not show `{form}`");
    }
}

#[test]
fn the_check_can_fail() {
    let doc = "| key | example |\n| `workers` | `workers = 100` |\n";
    assert_eq!(rows_for(doc, "workers").len(), 1);
    assert!(rows_for(doc, "repeat").is_empty());
}
