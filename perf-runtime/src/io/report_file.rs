//! The JSON report file.

use std::path::{Path, PathBuf};

use crate::io::files::write_atomically;
use crate::model::error::Error;
use crate::model::report::Report;
use crate::output::sink::Sink;

impl Report {
    /// Writes the report as JSON to `path`, atomically: a temporary file in
    /// the same directory, renamed over the target, so a crash never leaves
    /// half a file.
    pub fn write_json(&self, path: &Path) -> Result<(), Error> {
        let io = |source| Error::Report {
            path: path.to_owned(),
            source,
        };
        let mut json = serde_json::to_vec_pretty(self).map_err(|e| io(e.into()))?;
        json.push(b'\n');
        write_atomically(path, &json).map_err(io)
    }

    /// Reads a report written by [`write_json`](Self::write_json).
    pub fn read_json(path: &Path) -> Result<Report, Error> {
        let io = |source| Error::Report {
            path: path.to_owned(),
            source,
        };
        let text = std::fs::read_to_string(path).map_err(io)?;
        let invalid = |e: String| io(std::io::Error::new(std::io::ErrorKind::InvalidData, e));
        let mut report: Report = serde_json::from_str(&text).map_err(|e| invalid(e.to_string()))?;
        report.check_schema().map_err(invalid)?;
        report.path = Some(path.to_owned());
        Ok(report)
    }
}

/// The JSON file sink.
pub(crate) struct JsonFile(pub(crate) PathBuf);

impl Sink for JsonFile {
    fn deliver(&self, report: &Report, _: &mut Vec<String>) -> Result<(), Error> {
        report.write_json(&self.0)
    }
}
