//! The CPU profile in the summary: how many samples, where the files are,
//! and the functions with the most self time.

use crate::model::profile::CpuProfile;

/// The `cpu profile` line and, under it, one line per top function.
pub(crate) fn lines(p: &CpuProfile) -> (String, Vec<String>) {
    if let Some(why) = &p.unavailable {
        return (format!("not taken: {why}"), Vec::new());
    }
    let files = if p.files.is_empty() {
        "not written (no report file: set PERF_REPORT_DIR, or drop `no_report_file`)".to_owned()
    } else {
        p.files.join(" · ")
    };
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

/// A function's name without its hash suffix (`::h0123456789abcdef`).
fn short_name(name: &str) -> &str {
    match name.rsplit_once("::h") {
        Some((head, hash)) if hash.len() == 16 && hash.chars().all(|c| c.is_ascii_hexdigit()) => {
            head
        }
        _ => name,
    }
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
}
