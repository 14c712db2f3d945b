//! The CPU profile's files, beside the JSON report: `<test>.cpu.pb.gz`
//! (pprof's gzipped protobuf, which `go tool pprof` and `pprof -http`
//! open) and `<test>.flamegraph.svg`, each written atomically.

use std::path::{Path, PathBuf};

use crate::io::files::write_atomically;
use crate::model::error::Error;
use crate::model::report::Report;
use crate::output::sink::Sink;

/// The profile's two files for the JSON report at `json`.
pub(crate) fn profile_paths(json: &Path) -> [PathBuf; 2] {
    [
        json.with_extension("cpu.pb.gz"),
        json.with_extension("flamegraph.svg"),
    ]
}

/// Names the files in the report (so that the summary and the JSON say
/// where they are) and returns the sink that writes them, when there is
/// a profile to write.
pub(crate) fn prepare(report: &mut Report, json: &Path) -> Option<ProfileFiles> {
    let profile = report.cpu_profile.as_mut()?;
    if profile.pprof_gz.is_empty() {
        return None;
    }
    let [pb, svg] = profile_paths(json);
    profile.files = vec![pb.display().to_string()];
    if !profile.flamegraph_svg.is_empty() {
        profile.files.push(svg.display().to_string());
    }
    Some(ProfileFiles { pb, svg })
}

/// Writes the profile's files.
pub(crate) struct ProfileFiles {
    pb: PathBuf,
    svg: PathBuf,
}

impl Sink for ProfileFiles {
    fn deliver(&self, report: &Report, _: &mut Vec<String>) -> Result<(), Error> {
        let Some(profile) = &report.cpu_profile else {
            return Ok(());
        };
        let write = |path: &Path, bytes: &[u8]| {
            write_atomically(path, bytes).map_err(|source| Error::Report {
                path: path.to_owned(),
                source,
            })
        };
        write(&self.pb, &profile.pprof_gz)?;
        if !profile.flamegraph_svg.is_empty() {
            write(&self.svg, &profile.flamegraph_svg)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_files_sit_beside_the_report_and_are_named_in_it() {
        let dir = tempfile::tempdir().unwrap();
        let json = dir.path().join("orders/put_item.json");
        let mut report = Report::skipped("orders::put_item".into(), Default::default(), "x".into());
        assert!(
            prepare(&mut report, &json).is_none(),
            "no profile, no files"
        );
        report.cpu_profile = Some(crate::model::profile::CpuProfile {
            pprof_gz: vec![1, 2, 3],
            flamegraph_svg: b"<svg/>".to_vec(),
            ..Default::default()
        });
        let sink = prepare(&mut report, &json).unwrap();
        let files = &report.cpu_profile.as_ref().unwrap().files;
        assert!(files[0].ends_with("orders/put_item.cpu.pb.gz"), "{files:?}");
        assert!(
            files[1].ends_with("orders/put_item.flamegraph.svg"),
            "{files:?}"
        );
        sink.deliver(&report, &mut Vec::new()).unwrap();
        assert_eq!(std::fs::read(&files[0]).unwrap(), [1, 2, 3]);
        assert_eq!(std::fs::read(&files[1]).unwrap(), b"<svg/>");
    }
}
