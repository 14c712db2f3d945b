//! Printing summaries: straight to the process's stderr in one write,
//! bypassing the test harness's capture so that a passing test's figures
//! are seen too, or through the harness, or not at all (`PERF_SUMMARY`,
//! read by [`crate::io::config`]).

use std::io::Write;

use crate::model::error::Error;
use crate::model::report::Report;
use crate::output::sink::Sink;

/// Where summaries go (`PERF_SUMMARY`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum SummaryMode {
    /// Straight to the process's stderr (the default; also `stderr`).
    #[default]
    Stderr,
    /// Through the test harness's captured stdout.
    Captured,
    /// Nowhere.
    Never,
}

/// Prints `text` the way `mode` says.
pub(crate) fn print(text: &str, mode: SummaryMode) {
    match mode {
        SummaryMode::Never => {}
        SummaryMode::Captured => println!("{text}"),
        SummaryMode::Stderr => {
            let _ = std::io::stderr()
                .lock()
                .write_all(format!("{text}\n").as_bytes());
        }
    }
}

/// The summary sink: the report's summary, then a line for each note of
/// the sinks before it (`baseline v1 saved: …`, `shard result: …`).
pub(crate) struct PrintSummary {
    pub(crate) mode: SummaryMode,
}

impl Sink for PrintSummary {
    fn deliver(&self, report: &Report, notes: &mut Vec<String>) -> Result<(), Error> {
        print(&with_notes(report, notes), self.mode);
        Ok(())
    }
}

/// The report's summary, then a line for each note.
pub(crate) fn with_notes(report: &Report, notes: &[String]) -> String {
    let mut summary = report.summary();
    for note in notes {
        summary.push_str("\n  ");
        summary.push_str(note);
    }
    summary
}
