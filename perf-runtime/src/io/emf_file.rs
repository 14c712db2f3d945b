//! EMF lines appended to a file (`publish = "emf:<path>"`).

use std::io::Write;
use std::path::PathBuf;

use crate::model::error::Error;
use crate::model::report::Report;
use crate::output::emf::MetricsExport;
use crate::output::sink::Sink;

/// Appends the report's EMF lines to `path`, in one write per test so that
/// the lines of tests writing the same file do not interleave.
pub(crate) struct EmfFile {
    pub(crate) export: MetricsExport,
    pub(crate) path: PathBuf,
}

impl Sink for EmfFile {
    fn deliver(&self, report: &Report, _: &mut Vec<String>) -> Result<(), Error> {
        let failed = |e: std::io::Error| Error::Publish {
            target: format!("{} (EMF)", self.path.display()),
            reason: e.to_string(),
        };
        let mut lines = Vec::new();
        self.export.write_emf(report, &mut lines).map_err(failed)?;
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)
            .and_then(|mut f| f.write_all(&lines))
            .map_err(failed)
    }
}
