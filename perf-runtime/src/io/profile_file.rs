//! The profiles' files, beside the JSON report: `<test>.cpu.pb.gz`
//! (pprof's gzipped protobuf, which `go tool pprof` and `pprof -http`
//! open), `<test>.flamegraph.svg` and `<test>.heap.pb.gz` (pprof's heap
//! format), each written atomically.

use std::path::{Path, PathBuf};

use crate::io::files::write_atomically;
use crate::model::error::Error;
use crate::model::report::Report;
use crate::output::sink::Sink;

/// The profiles' three files for the JSON report at `json`.
pub(crate) fn profile_paths(json: &Path) -> [PathBuf; 3] {
    [
        json.with_extension("cpu.pb.gz"),
        json.with_extension("flamegraph.svg"),
        json.with_extension("heap.pb.gz"),
    ]
}

/// Names the files in the report (so that the summary and the JSON say
/// where they are) and returns the sink that writes them, when there is
/// a profile to write.
pub(crate) fn prepare(report: &mut Report, json: &Path) -> Option<ProfileFiles> {
    let [pb, svg, heap] = profile_paths(json);
    let mut files = ProfileFiles::default();
    if let Some(p) = report
        .cpu_profile
        .as_mut()
        .filter(|p| !p.pprof_gz.is_empty())
    {
        p.files = vec![pb.display().to_string()];
        files.cpu = Some(pb);
        if !p.flamegraph_svg.is_empty() {
            p.files.push(svg.display().to_string());
            files.svg = Some(svg);
        }
    }
    if let Some(p) = report
        .heap_profile
        .as_mut()
        .filter(|p| !p.pprof_gz.is_empty())
    {
        p.files = vec![heap.display().to_string()];
        files.heap = Some(heap);
    }
    (files.cpu.is_some() || files.heap.is_some()).then_some(files)
}

/// Writes the profiles' files.
#[derive(Default)]
pub(crate) struct ProfileFiles {
    cpu: Option<PathBuf>,
    svg: Option<PathBuf>,
    heap: Option<PathBuf>,
}

impl Sink for ProfileFiles {
    fn deliver(&self, report: &Report, _: &mut Vec<String>) -> Result<(), Error> {
        let write = |path: &Option<PathBuf>, bytes: Option<&Vec<u8>>| match (path, bytes) {
            (Some(path), Some(bytes)) => {
                write_atomically(path, bytes).map_err(|source| Error::Report {
                    path: path.to_owned(),
                    source,
                })
            }
            _ => Ok(()),
        };
        let cpu = report.cpu_profile.as_ref();
        write(&self.cpu, cpu.map(|p| &p.pprof_gz))?;
        write(&self.svg, cpu.map(|p| &p.flamegraph_svg))?;
        write(
            &self.heap,
            report.heap_profile.as_ref().map(|p| &p.pprof_gz),
        )
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
        assert!(!json.with_extension("heap.pb.gz").exists());
        report.heap_profile = Some(crate::model::profile::HeapProfile {
            pprof_gz: vec![4, 5],
            ..Default::default()
        });
        report.cpu_profile = None;
        let sink = prepare(&mut report, &json).unwrap();
        let heap = &report.heap_profile.as_ref().unwrap().files;
        assert!(heap[0].ends_with("orders/put_item.heap.pb.gz"), "{heap:?}");
        sink.deliver(&report, &mut Vec::new()).unwrap();
        assert_eq!(std::fs::read(&heap[0]).unwrap(), [4, 5]);
    }
}
