//! The REPORT line Lambda writes after every invocation, returned (base64,
//! last 4 KB of the log) in `LogResult` when invoking with `LogType::Tail`.
//!
//! Fields are separated by tabs (shown as two spaces):
//!
//! ```text
//! REPORT RequestId: c793869b-…  Duration: 5.11 ms  Billed Duration: 6 ms  Memory Size: 128 MB  Max Memory Used: 64 MB  Init Duration: 197.80 ms
//! ```
//!
//! `Init Duration` appears only on a cold start's invocation.

use std::time::Duration;

use base64::Engine as _;

/// What one REPORT line says.
#[derive(Debug, Clone, PartialEq)]
pub struct ReportLine {
    /// The invocation's request id.
    pub request_id: String,
    /// Handler time.
    pub duration: Duration,
    /// Billed time (rounded up to 1 ms since December 2020).
    pub billed_duration: Duration,
    /// Configured memory, MB.
    pub memory_size_mb: u32,
    /// Most memory the execution environment used, MB.
    pub max_memory_used_mb: u32,
    /// Initialisation time: present only on a cold start.
    pub init_duration: Option<Duration>,
    /// SnapStart restore time, if any.
    pub restore_duration: Option<Duration>,
    /// `Status: timeout` and the like, if present.
    pub status: Option<String>,
}

impl ReportLine {
    /// Parses the last REPORT line in a log tail (plain text).
    pub fn from_log(log: &str) -> Option<ReportLine> {
        log.lines()
            .rev()
            .find_map(|line| Self::parse(line.trim_start()))
    }

    /// Parses the last REPORT line of a `LogResult` (base64 of the tail).
    pub fn from_log_result(log_result: &str) -> Option<ReportLine> {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(log_result.trim())
            .ok()?;
        Self::from_log(&String::from_utf8_lossy(&bytes))
    }

    /// Parses one `REPORT RequestId: …` line (tab-separated `Key: value`
    /// fields); `None` if it is not one or lacks a required field.
    pub fn parse(line: &str) -> Option<ReportLine> {
        let rest = line.strip_prefix("REPORT ")?;
        let mut r = ReportLine {
            request_id: String::new(),
            duration: Duration::ZERO,
            billed_duration: Duration::ZERO,
            memory_size_mb: 0,
            max_memory_used_mb: 0,
            init_duration: None,
            restore_duration: None,
            status: None,
        };
        let (mut duration, mut billed, mut memory, mut used) = (false, false, false, false);
        for field in rest.split('\t').map(str::trim).filter(|f| !f.is_empty()) {
            let (key, value) = field.split_once(": ")?;
            match key {
                "RequestId" => r.request_id = value.to_owned(),
                "Duration" => (r.duration, duration) = (ms(value)?, true),
                "Billed Duration" => (r.billed_duration, billed) = (ms(value)?, true),
                "Memory Size" => (r.memory_size_mb, memory) = (mb(value)?, true),
                "Max Memory Used" => (r.max_memory_used_mb, used) = (mb(value)?, true),
                "Init Duration" => r.init_duration = Some(ms(value)?),
                "Restore Duration" => r.restore_duration = Some(ms(value)?),
                "Status" => r.status = Some(value.to_owned()),
                _ => {} // "Billed Restore Duration", future fields
            }
        }
        (duration && billed && memory && used).then_some(r)
    }

    /// Whether this invocation was a cold start (it has an init duration).
    pub fn is_cold(&self) -> bool {
        self.init_duration.is_some()
    }
}

fn ms(value: &str) -> Option<Duration> {
    let n: f64 = value.strip_suffix(" ms")?.trim().parse().ok()?;
    (n.is_finite() && n >= 0.0).then(|| Duration::from_secs_f64(n / 1e3))
}

fn mb(value: &str) -> Option<u32> {
    value.strip_suffix(" MB")?.trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    // Real REPORT lines, as CloudWatch Logs shows them (tab-separated).
    const WARM: &str = "REPORT RequestId: 3604209a-e9a3-11e6-939a-754dd98c7be3\tDuration: 12.34 ms\tBilled Duration: 13 ms\tMemory Size: 128 MB\tMax Memory Used: 18 MB\t";
    const COLD: &str = "REPORT RequestId: c793869b-ee49-115b-a5b6-4fd21e8dedac\tDuration: 5.11 ms\tBilled Duration: 6 ms\tMemory Size: 1769 MB\tMax Memory Used: 64 MB\tInit Duration: 197.80 ms\t";
    const TIMEOUT: &str = "REPORT RequestId: 9e0b1a4c-5a0f-4b8e-9d5e-2c0e6d1c7f11\tDuration: 3000.00 ms\tBilled Duration: 3000 ms\tMemory Size: 128 MB\tMax Memory Used: 42 MB\tStatus: timeout";
    const SNAPSTART: &str = "REPORT RequestId: 8b7e1d0a-2f6c-4f0e-8f7e-6c3a2b1d0e9f\tDuration: 86.94 ms\tBilled Duration: 525 ms\tMemory Size: 512 MB\tMax Memory Used: 112 MB\tRestore Duration: 474.16 ms\tBilled Restore Duration: 438 ms";

    #[test]
    fn a_warm_line() {
        let r = ReportLine::parse(WARM).unwrap();
        assert_eq!(r.request_id, "3604209a-e9a3-11e6-939a-754dd98c7be3");
        assert_eq!(r.duration, Duration::from_micros(12_340));
        assert_eq!(r.billed_duration, Duration::from_millis(13));
        assert_eq!((r.memory_size_mb, r.max_memory_used_mb), (128, 18));
        assert!(!r.is_cold());
    }

    #[test]
    fn a_cold_line_has_an_init_duration() {
        let r = ReportLine::parse(COLD).unwrap();
        assert!(r.is_cold());
        assert_eq!(r.init_duration, Some(Duration::from_micros(197_800)));
        assert_eq!(r.memory_size_mb, 1769);
    }

    #[test]
    fn status_and_snapstart_fields() {
        assert_eq!(
            ReportLine::parse(TIMEOUT).unwrap().status.as_deref(),
            Some("timeout")
        );
        let r = ReportLine::parse(SNAPSTART).unwrap();
        assert_eq!(r.restore_duration, Some(Duration::from_micros(474_160)));
        assert!(!r.is_cold());
    }

    #[test]
    fn the_last_report_line_of_a_base64_log_tail() {
        let log = format!(
            "START RequestId: 57f231fb-1730-4395-85cb-4f71bd2b87b8 Version: $LATEST\n\
             handler said hi\n\
             END RequestId: 57f231fb-1730-4395-85cb-4f71bd2b87b8\n\
             {COLD}\n\
             XRAY TraceId: 1-5e34a614-10bdd0b0ac2d0a41f6d9a7da\tSegmentId: 7b7bfbd3bcc0f6c8\tSampled: true\n"
        );
        let encoded = base64::engine::general_purpose::STANDARD.encode(log);
        let r = ReportLine::from_log_result(&encoded).unwrap();
        assert_eq!(r.request_id, "c793869b-ee49-115b-a5b6-4fd21e8dedac");
    }

    #[test]
    fn not_a_report_line() {
        assert_eq!(
            ReportLine::parse("START RequestId: x Version: $LATEST"),
            None
        );
        // Missing Max Memory Used: not a whole REPORT line (e.g. cut by the 4 KB tail).
        assert_eq!(
            ReportLine::parse("REPORT RequestId: x\tDuration: 1.00 ms\tBilled Duration: 1 ms"),
            None
        );
        assert_eq!(
            ReportLine::parse("REPORT RequestId: x\tDuration: fast ms"),
            None
        );
        assert_eq!(ReportLine::from_log_result("not base64!"), None);
    }
}
