//! Which processes besides the test's own a run samples: `monitor =
//! "pid:1234"`, `monitor = "name:orders-fn"` (several, comma-separated),
//! `PERF_MONITOR=…`, or `Monitor::process(&child)` in code.

use std::fmt;

/// The longest process name a monitor may give (Linux keeps 15 bytes of
/// a process's name; an executable's file name may be longer).
pub const MAX_MONITOR_NAME: usize = 255;

/// The most processes one test may monitor.
pub const MAX_MONITORS: usize = 32;

/// A process (or every process of one name) whose CPU and memory a run
/// samples beside its own.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Monitor {
    /// One process, by id.
    Pid(u32),
    /// Every process whose name (the kernel's 15-byte `comm`, the
    /// executable's file name, or the file name of its first argument) is
    /// this, however many there are and whenever they start.
    Name(String),
}

impl Monitor {
    /// One process, by id.
    pub fn pid(pid: u32) -> Monitor {
        Monitor::Pid(pid)
    }

    /// Every process named `name`.
    pub fn name(name: impl Into<String>) -> Monitor {
        Monitor::Name(name.into())
    }

    /// A child process this test started.
    pub fn process(child: &std::process::Child) -> Monitor {
        Monitor::Pid(child.id())
    }

    /// Checks a monitor built in code the same way as one parsed.
    pub fn check(&self) -> Result<(), String> {
        match self {
            Monitor::Pid(0) => Err("pid 0 is not a process; give the id of a running one".into()),
            Monitor::Pid(_) => Ok(()),
            Monitor::Name(n) if n.trim().is_empty() => {
                Err("`name:` needs a process name, e.g. `name:orders-fn`".into())
            }
            Monitor::Name(n) if n.len() > MAX_MONITOR_NAME => Err(format!(
                "a process name is at most {MAX_MONITOR_NAME} bytes, got {}",
                n.len()
            )),
            Monitor::Name(n) if n.contains('/') || n.contains(',') => Err(format!(
                "`{n}`: a process name has no `/` or `,` (give the file name, not a path)"
            )),
            Monitor::Name(_) => Ok(()),
        }
    }

    /// `pid:1234` or `name:orders-fn`.
    pub fn parse(text: &str) -> Result<Monitor, String> {
        let text = text.trim();
        let monitor = if let Some(pid) = text.strip_prefix("pid:") {
            let pid = pid.trim();
            Monitor::Pid(pid.parse().map_err(|_| {
                format!("`pid:{pid}`: a process id is a whole number, e.g. `pid:1234`")
            })?)
        } else if let Some(name) = text.strip_prefix("name:") {
            Monitor::Name(name.trim().to_owned())
        } else {
            return Err(format!(
                "`{text}`: expected `pid:<id>` or `name:<process name>`, e.g. `name:orders-fn`"
            ));
        };
        monitor.check()?;
        Ok(monitor)
    }

    /// A comma-separated list (`pid:1234,name:orders-fn`), each once, at
    /// most [`MAX_MONITORS`].
    pub fn parse_list(text: &str) -> Result<Vec<Monitor>, String> {
        let mut all = Vec::new();
        for part in text.split(',').filter(|p| !p.trim().is_empty()) {
            if all.len() == MAX_MONITORS {
                return Err(format!("at most {MAX_MONITORS} monitored processes"));
            }
            let m = Monitor::parse(part)?;
            if all.contains(&m) {
                return Err(format!("`{m}` is listed twice"));
            }
            all.push(m);
        }
        if all.is_empty() {
            return Err("no process given; e.g. `name:orders-fn` or `pid:1234`".into());
        }
        Ok(all)
    }
}

impl fmt::Display for Monitor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Monitor::Pid(p) => write!(f, "pid:{p}"),
            Monitor::Name(n) => write!(f, "name:{n}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pids_and_names_parse_and_print_back() {
        assert_eq!(Monitor::parse("pid:1234"), Ok(Monitor::Pid(1234)));
        assert_eq!(
            Monitor::parse(" name:orders-fn "),
            Ok(Monitor::name("orders-fn"))
        );
        let list = Monitor::parse_list("pid:7, name:nginx,").unwrap();
        assert_eq!(list, [Monitor::Pid(7), Monitor::name("nginx")]);
        assert_eq!(
            list.iter().map(ToString::to_string).collect::<Vec<_>>(),
            ["pid:7", "name:nginx"]
        );
    }

    #[test]
    fn bad_monitors_say_what_is_wrong() {
        let err = |s: &str| Monitor::parse_list(s).unwrap_err();
        assert!(err("pid:abc").contains("whole number"));
        assert!(err("pid:0").contains("pid 0"));
        assert!(err("name:").contains("needs a process name"));
        assert!(err("name:/usr/bin/x").contains("not a path"));
        assert!(err("orders-fn").contains("expected `pid:<id>` or `name:"));
        assert!(err("pid:1,pid:1").contains("listed twice"));
        assert!(err("").contains("no process given"));
        let many: Vec<String> = (1..=33).map(|p| format!("pid:{p}")).collect();
        assert!(err(&many.join(",")).contains("at most 32"));
        assert!(err(&format!("name:{}", "x".repeat(300))).contains("at most 255"));
    }
}
