//! Standard output that ends quietly when its reader goes away.
//!
//! `perf-report compare … | head` closes the pipe after ten lines;
//! `println!` would then panic with "failed printing to stdout: Broken
//! pipe". Like other Unix tools, perf-report stops without a word instead,
//! with exit status 141 (what a shell reports for a process ended by
//! SIGPIPE), so that a pipeline under `set -o pipefail` still sees that the
//! output was not all delivered.

use std::io::Write;

/// Exit status after the reader closed standard output.
pub const BROKEN_PIPE_EXIT: i32 = 141;

/// Writes one line to stdout.
pub fn line(text: impl std::fmt::Display) {
    let result = writeln!(std::io::stdout().lock(), "{text}");
    if let Err(e) = result {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(BROKEN_PIPE_EXIT);
        }
        eprintln!("perf-report: writing to stdout: {e}");
        std::process::exit(2);
    }
}

/// `println!` through [`line()`].
macro_rules! outln {
    () => {
        $crate::out::line("")
    };
    ($($arg:tt)*) => {
        $crate::out::line(format_args!($($arg)*))
    };
}
pub(crate) use outln;
