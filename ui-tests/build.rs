//! Makes `tests/pass_as_tests.rs`'s input: every accepted form of
//! `tests/ui/pass` as a module of a test target. trybuild builds the pass
//! cases as binaries, where `#[test]` items (so every harness a perf test
//! expands to) are stripped: an accepted key whose expansion does not
//! compile passed it. Built with `--test`, the generated harnesses compile
//! too. Each perf test is marked `#[ignore]`: the cases declare loads
//! (30 s runs, monitored processes) that are there to be compiled, not run.

use std::fmt::Write as _;
use std::path::Path;
use std::{env, fs};

fn main() {
    let dir = Path::new(&env::var("CARGO_MANIFEST_DIR").unwrap()).join("tests/ui/pass");
    println!("cargo:rerun-if-changed={}", dir.display());
    let mut files: Vec<_> = fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "rs"))
        .collect();
    files.sort();
    let mut out = String::new();
    for file in files {
        println!("cargo:rerun-if-changed={}", file.display());
        let name = file.file_stem().unwrap().to_str().unwrap();
        let text = fs::read_to_string(&file).unwrap();
        // Warnings the cases show on purpose (a percentile too fine for its
        // `repeat`, an `#[ignore]` of their own) are not this build's.
        writeln!(
            out,
            "#[allow(dead_code, unused_imports, unused_attributes, deprecated)]\nmod {name} {{"
        )
        .unwrap();
        for line in text.lines() {
            if line.starts_with("#[perf_test") {
                out.push_str("#[ignore = \"compiled only (an accepted form of tests/ui/pass)\"]\n");
            }
            out.push_str(line);
            out.push('\n');
        }
        out.push_str("}\n");
    }
    let path = Path::new(&env::var("OUT_DIR").unwrap()).join("pass_cases.rs");
    fs::write(path, out).unwrap();
}
