//! A Lambda function run locally: `concurrency` processes of a binary built
//! with `lambda_runtime`, attached to cargo-lambda's Runtime API
//! (`<PERF_LAMBDA_RUNTIME_API>/.rt/<name>`). Each process handles one
//! invocation at a time, as an execution environment does, so the number of
//! processes is the function's concurrency. Restarting them is a real cold
//! start: the next invocation waits for process start and init. While it
//! exists, every perf test run samples its processes' CPU and memory beside
//! its own (the summary's `resources` lines, under the function's name).

use std::io;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering::SeqCst};
use std::sync::{Mutex, PoisonError};

/// Local execution environments of one function. Dropping it stops them.
#[derive(Debug)]
pub struct LocalFunction {
    name: String,
    binary: PathBuf,
    runtime_api: String,
    concurrency: AtomicUsize,
    memory_mb: AtomicU32,
    env: Vec<(String, String)>,
    children: Mutex<Vec<Child>>,
    /// Processes started and not yet given an invocation (cold).
    fresh: AtomicUsize,
}

impl LocalFunction {
    /// Starts `concurrency` processes of `binary` as function `name`, with
    /// `AWS_LAMBDA_FUNCTION_MEMORY_SIZE=memory_mb`. `runtime_api` is
    /// cargo-lambda's base URL (`PERF_LAMBDA_RUNTIME_API`). cargo-lambda
    /// serves the functions that are binary targets of the workspace it runs
    /// in, so `name` is the binary's name.
    pub fn start(
        binary: impl AsRef<Path>,
        name: &str,
        runtime_api: &str,
        concurrency: usize,
        memory_mb: u32,
        env: &[(&str, &str)],
    ) -> io::Result<LocalFunction> {
        let f = LocalFunction {
            name: name.to_owned(),
            binary: binary.as_ref().to_owned(),
            runtime_api: runtime_api.trim_end_matches('/').to_owned(),
            concurrency: AtomicUsize::new(concurrency.max(1)),
            memory_mb: AtomicU32::new(memory_mb),
            env: env
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            children: Mutex::new(Vec::new()),
            fresh: AtomicUsize::new(0),
        };
        f.restart()?;
        Ok(f)
    }

    /// The function's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// How many processes (concurrent executions) it has.
    pub fn concurrency(&self) -> usize {
        self.concurrency.load(SeqCst)
    }

    /// Sets the number of processes and restarts.
    pub fn set_concurrency(&self, concurrency: usize) -> io::Result<()> {
        self.concurrency.store(concurrency.max(1), SeqCst);
        self.restart()
    }

    /// The configured memory, MB.
    pub fn memory_mb(&self) -> u32 {
        self.memory_mb.load(SeqCst)
    }

    /// Stops every process and starts fresh ones: the next invocations are
    /// cold starts. Returns at once; the invocations wait for the start.
    pub fn restart(&self) -> io::Result<()> {
        let mut children = self.children.lock().unwrap_or_else(PoisonError::into_inner);
        stop(&mut children);
        let concurrency = self.concurrency();
        for _ in 0..concurrency {
            let child = Command::new(&self.binary)
                .env(
                    "AWS_LAMBDA_RUNTIME_API",
                    format!("{}/.rt/{}", self.runtime_api, self.name),
                )
                .env("AWS_LAMBDA_FUNCTION_NAME", &self.name)
                .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
                .env(
                    "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
                    self.memory_mb().to_string(),
                )
                .envs(self.env.iter().map(|(k, v)| (k, v)))
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .spawn()
                .map_err(|e| {
                    io::Error::new(
                        e.kind(),
                        format!("cannot start {}: {e}", self.binary.display()),
                    )
                })?;
            children.push(child);
        }
        // Every run samples the function's processes beside its own.
        crate::measure::resources::register_local(
            &self.name,
            children.iter().map(Child::id).collect(),
        );
        self.fresh.store(concurrency, SeqCst);
        Ok(())
    }

    /// Sets the memory size (`AWS_LAMBDA_FUNCTION_MEMORY_SIZE`) and restarts.
    pub fn set_memory(&self, memory_mb: u32) -> io::Result<()> {
        self.memory_mb.store(memory_mb, SeqCst);
        self.restart()
    }

    /// Whether the next invocation is a cold start, as far as the harness
    /// knows: one per process started. Exact with one process, or when the
    /// first invocations after a start arrive together (each idle process
    /// takes one).
    pub fn take_cold(&self) -> bool {
        self.fresh
            .fetch_update(SeqCst, SeqCst, |n| n.checked_sub(1))
            .is_ok()
    }

    /// Resident set size of each process, in bytes (Linux `/proc`; empty
    /// elsewhere). The local stand-in for REPORT's `Max Memory Used`.
    pub fn rss_bytes(&self) -> Vec<u64> {
        let children = self.children.lock().unwrap_or_else(PoisonError::into_inner);
        children.iter().filter_map(|c| rss_of(c.id())).collect()
    }

    /// Processes that have exited (crashed), with their status.
    pub fn exited(&self) -> Vec<String> {
        let mut children = self.children.lock().unwrap_or_else(PoisonError::into_inner);
        children
            .iter_mut()
            .filter_map(|c| match c.try_wait() {
                Ok(Some(status)) => Some(format!("pid {}: {status}", c.id())),
                _ => None,
            })
            .collect()
    }
}

impl Drop for LocalFunction {
    fn drop(&mut self) {
        let children = self
            .children
            .get_mut()
            .unwrap_or_else(PoisonError::into_inner);
        stop(children);
        crate::measure::resources::unregister_local(&self.name);
    }
}

fn stop(children: &mut Vec<Child>) {
    for child in children.iter_mut() {
        let _ = child.kill();
    }
    for mut child in children.drain(..) {
        let _ = child.wait();
    }
}

fn rss_of(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kb: u64 = line
        .trim_start_matches("VmRSS:")
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some(kb * 1024)
}
