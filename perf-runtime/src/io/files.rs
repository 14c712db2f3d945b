//! The files perf-runtime writes: atomically, under names that every test
//! name maps to injectively, in directories found the way cargo lays out
//! its target directory.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::model::error::Error;
use crate::run::builder::ReportDir;

/// Writes `bytes` to `path` through a temporary file in the same directory
/// and a rename, so that readers see the old file or the new one, never
/// half of one, and a link at `path` is replaced, not followed. Creates the
/// directory. The file gets the mode the umask gives a new file (0644
/// under 022), as files meant to be committed and shared should, and
/// temporaries that a killed writer left behind are removed.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    remove_stale_temporaries(dir);
    let mut builder = tempfile::Builder::new();
    builder.prefix(TEMP_PREFIX);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        // The kernel applies the umask to this mode, as for any new file.
        builder.permissions(std::fs::Permissions::from_mode(0o666));
    }
    let mut tmp = builder.tempfile_in(dir)?;
    tmp.write_all(bytes)?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

/// The prefix of [`write_atomically`]'s temporaries (tempfile adds six
/// random characters).
const TEMP_PREFIX: &str = ".perf-";

/// A temporary older than this is a killed writer's: a write takes
/// milliseconds.
const STALE_AFTER: Duration = Duration::from_secs(10 * 60);

/// Whether `name` is one of [`write_atomically`]'s temporaries.
fn is_our_temporary(name: &str) -> bool {
    name.strip_prefix(TEMP_PREFIX)
        .is_some_and(|rest| rest.len() == 6 && rest.bytes().all(|b| b.is_ascii_alphanumeric()))
}

fn remove_stale_temporaries(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        if !name.to_str().is_some_and(is_our_temporary) {
            continue;
        }
        let stale = entry.metadata().is_ok_and(|m| {
            m.is_file()
                && m.modified()
                    .ok()
                    .and_then(|t| t.elapsed().ok())
                    .is_some_and(|age| age > STALE_AFTER)
        });
        if stale {
            // Another process may have removed it first: nothing to report.
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

/// Where a test's reports go: its own directory, the default one
/// ([`default_dir`]), or none.
pub(crate) fn report_dir(dir: &ReportDir) -> Option<PathBuf> {
    match dir {
        ReportDir::Off => None,
        ReportDir::Dir(dir) => Some(dir.clone()),
        ReportDir::Auto => Some(default_dir()),
    }
}

/// Checks, before a run, that the report of test `name` can be written:
/// its directory is made and a temporary file created in it (and removed),
/// so that an unwritable `PERF_REPORT_DIR` or a read-only `target/perf`
/// fails the test at once, naming the variable or the file, not after the
/// run with its figures lost.
pub(crate) fn check_report_dir(dir: &ReportDir, name: &str) -> Result<(), Error> {
    let Some(path) = report_dir(dir).map(|d| report_path(&d, name)) else {
        return Ok(());
    };
    let parent = path.parent().unwrap_or(Path::new("."));
    let probe = std::fs::create_dir_all(parent).and_then(|()| {
        tempfile::Builder::new()
            .prefix(TEMP_PREFIX)
            .tempfile_in(parent)
            .map(drop)
    });
    let Err(source) = probe else {
        return Ok(());
    };
    let from_env = std::env::var("PERF_REPORT_DIR")
        .ok()
        .filter(|d| !d.is_empty() && matches!(dir, ReportDir::Auto));
    Err(match from_env {
        Some(value) => Error::Env {
            var: "PERF_REPORT_DIR".into(),
            value,
            reason: format!(
                "the report {} cannot be written there: {source}",
                path.display()
            ),
        },
        None => Error::Report { path, source },
    })
}

/// `<target dir>/perf`, or `PERF_REPORT_DIR` if set.
///
/// The target directory is `CARGO_TARGET_DIR` if set, else found from the
/// test executable's path (cargo marks its target directory with a
/// `CACHEDIR.TAG` file), else `target` in the current directory.
pub(crate) fn default_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("PERF_REPORT_DIR").filter(|d| !d.is_empty()) {
        return PathBuf::from(dir);
    }
    target_dir().join("perf")
}

/// The cargo target directory the test binary runs from:
/// `CARGO_TARGET_DIR`, else the nearest ancestor of the executable with a
/// `CACHEDIR.TAG` (cargo writes one), else `target`.
pub(crate) fn target_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("CARGO_TARGET_DIR").filter(|d| !d.is_empty()) {
        return PathBuf::from(dir);
    }
    let from_exe = std::env::current_exe().ok().and_then(|exe| {
        exe.ancestors()
            .skip(1)
            .find(|d| d.join("CACHEDIR.TAG").is_file())
            .map(Path::to_owned)
    });
    from_exe.unwrap_or_else(|| PathBuf::from("target"))
}

/// `<dir>/<part>/<part>/<last>.json` for a `::`-separated test name.
///
/// Each part becomes one file name by [`file_name_part`]: injective (two
/// different test names never share a file), readable for ASCII names,
/// never `.`, `..` or hidden, and at most [`MAX_NAME_BYTES`] bytes, so no
/// name escapes `dir` or fails with "File name too long".
pub fn report_path(dir: &Path, name: &str) -> PathBuf {
    let mut path = dir.to_owned();
    let parts: Vec<String> = name.split("::").map(file_name_part).collect();
    let (last, dirs) = parts.split_last().expect("split yields at least one part");
    for part in dirs {
        path.push(part);
    }
    path.push(format!("{last}.json"));
    path
}

/// The longest file name [`file_name_part`] makes, leaving room under the
/// usual 255-byte limit for suffixes such as `.shard-12-of-16.json`.
pub const MAX_NAME_BYTES: usize = 200;

/// One part of a test name as a file name. `[A-Za-z0-9_-]` and inner dots
/// stay as they are; every other byte (a leading dot, `/`, `~`, each byte
/// of a non-ASCII character) becomes `~xx` in hex, and an empty part is
/// `~`. `~` only ever starts an escape, so the mapping is injective:
/// `größe` is `gr~c3~b6~c3~9fe`, `grüße` is `gr~c3~bc~c3~9fe`. A result
/// longer than [`MAX_NAME_BYTES`] is cut and ends in `~h` and a 64-bit
/// FNV-1a hash of the whole part (stable across versions and platforms).
pub fn file_name_part(part: &str) -> String {
    use std::fmt::Write as _;
    if part.is_empty() {
        return "~".to_owned();
    }
    let mut out = String::with_capacity(part.len());
    for (i, &b) in part.as_bytes().iter().enumerate() {
        let keep = b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || (b == b'.' && i > 0);
        if keep {
            out.push(b as char);
        } else {
            let _ = write!(out, "~{b:02x}");
        }
    }
    if out.len() <= MAX_NAME_BYTES {
        return out;
    }
    let hash = part.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    // Cut on a character boundary (the text is ASCII) and not inside an
    // escape, so that the cut name is still a prefix of escapes and bytes.
    let mut cut = MAX_NAME_BYTES - 18;
    if let Some(tilde) = out[cut.saturating_sub(2)..cut].find('~') {
        cut = cut - 2 + tilde;
    }
    out.truncate(cut);
    let _ = write!(out, "~h{hash:016x}");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::measured::new_histogram;
    use crate::model::report::percentile_ns;
    use proptest::prelude::*;

    #[test]
    fn report_paths_stay_inside_the_directory() {
        let dir = Path::new("/t/perf");
        assert_eq!(
            report_path(dir, "behaviour::basic::fast"),
            Path::new("/t/perf/behaviour/basic/fast.json")
        );
        assert_eq!(
            report_path(dir, "../../etc/passwd"),
            Path::new("/t/perf/~2e.~2f..~2fetc~2fpasswd.json")
        );
        assert_eq!(
            report_path(dir, "a::..::b"),
            Path::new("/t/perf/a/~2e./b.json")
        );
        assert_eq!(
            report_path(dir, "a::/abs"),
            Path::new("/t/perf/a/~2fabs.json")
        );
        assert_eq!(report_path(dir, "a::::b"), Path::new("/t/perf/a/~/b.json"));
        assert!(report_path(dir, "x::v1.2").ends_with("x/v1.2.json"));
    }

    #[cfg(unix)]
    #[test]
    fn written_files_get_the_umask_mode_and_stale_temporaries_go() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        // A killed writer's temporary, an hour old, and a fresh one (a
        // writer at work) that must stay; a file of the user's own too.
        let stale = dir.path().join(".perf-AbC123");
        let fresh = dir.path().join(".perf-XyZ789");
        let theirs = dir.path().join(".perf-notes.txt");
        for f in [&stale, &fresh, &theirs] {
            std::fs::write(f, "x").unwrap();
        }
        let old = std::time::SystemTime::now() - Duration::from_secs(3600);
        std::fs::File::options()
            .write(true)
            .open(&stale)
            .unwrap()
            .set_modified(old)
            .unwrap();
        let path = dir.path().join("r.json");
        write_atomically(&path, b"{}").unwrap();
        assert!(!stale.exists() && fresh.exists() && theirs.exists());
        // What a new file gets under this process's umask.
        let plain = dir.path().join("plain");
        std::fs::write(&plain, "").unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        // Under the usual umask 022 both are 0644; tempfile's private
        // default would make the report 0600.
        assert_eq!(mode(&path), mode(&plain));
    }

    #[cfg(unix)]
    #[test]
    fn a_link_at_the_destination_is_replaced_not_followed() {
        let dir = tempfile::tempdir().unwrap();
        let victim = dir.path().join("victim");
        std::fs::write(&victim, "keep").unwrap();
        let link = dir.path().join("index.html");
        std::os::unix::fs::symlink(&victim, &link).unwrap();
        write_atomically(&link, b"new").unwrap();
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "keep");
        assert_eq!(std::fs::read_to_string(&link).unwrap(), "new");
    }

    #[test]
    fn non_ascii_names_get_files_of_their_own() {
        let dir = Path::new("/t");
        for (a, b) in [
            ("größe", "grüße"),
            ("読み込み", "書き込み"),
            ("a_b", "a~5fb"),
            ("a b", "a_b"),
        ] {
            assert_ne!(report_path(dir, a), report_path(dir, b), "{a} / {b}");
        }
        assert_eq!(file_name_part("größe"), "gr~c3~b6~c3~9fe");
    }

    #[test]
    fn long_parts_are_cut_with_a_stable_hash() {
        let long = "x".repeat(300);
        let name = file_name_part(&long);
        assert!(name.len() <= MAX_NAME_BYTES, "{}", name.len());
        assert_eq!(name, file_name_part(&long), "stable");
        assert_ne!(name, file_name_part(&format!("{long}y")));
        // Cut inside an escape: the escape goes whole or not at all.
        let escapes = "é".repeat(200);
        let name = file_name_part(&escapes);
        assert!(name.len() <= MAX_NAME_BYTES);
        let before_hash = name.rsplit_once("~h").unwrap().0;
        assert!(
            before_hash.split('~').skip(1).all(|e| e.len() == 2),
            "{name}"
        );
    }

    proptest! {
        #[test]
        fn any_name_stays_inside(name in "\\PC{0,40}") {
            let dir = Path::new("/t/perf");
            let p = report_path(dir, &name);
            prop_assert!(p.starts_with(dir));
            prop_assert!(p.components().all(|c| !matches!(c, std::path::Component::ParentDir)));
            prop_assert!(p.strip_prefix(dir).unwrap().components().all(|c| c.as_os_str().len() <= MAX_NAME_BYTES + 5));
        }

        /// Different parts never share a file name.
        #[test]
        fn file_names_are_injective(a in "\\PC{0,12}", b in "\\PC{0,12}") {
            prop_assume!(a != b);
            prop_assert_ne!(file_name_part(&a), file_name_part(&b));
        }

        /// HdrHistogram's percentile against the exact nearest-rank
        /// percentile of the sorted samples: never below it, and above it
        /// by at most the histogram's precision (3 significant digits).
        #[test]
        fn percentiles_match_a_sorted_vector(
            samples in proptest::collection::vec(1u64..10_000_000_000, 1..2000),
            p in 0.1f64..100.0,
        ) {
            let mut h = new_histogram();
            for &s in &samples {
                h.record(s).unwrap();
            }
            let mut sorted = samples.clone();
            sorted.sort_unstable();
            let rank = ((p / 100.0) * sorted.len() as f64).ceil().max(1.0) as usize;
            let exact = sorted[rank - 1];
            let got = percentile_ns(&h, p);
            prop_assert!(got >= exact && got as f64 <= exact as f64 * 1.001 + 1.0, "p{p}: exact {exact}, hdr {got}");
        }
    }
}
