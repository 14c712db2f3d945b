//! CPU profiling of a run's measured phase with the `pprof` crate:
//! `SIGPROF` every `1 / frequency` seconds of CPU time, on whichever of
//! the process's threads is running (the test's runtime threads, the
//! dispatcher, the sampler), unwound and counted per stack. It starts when
//! the first run's measured phase does (after warm-up) and stops when the
//! last one ends; the profile is then encoded in pprof's protobuf format
//! (gzipped, as `go tool pprof` reads it) and drawn as a flame graph.
//!
//! One profiler per process at a time (the signal is the process's): a
//! profiled test that overlaps another (`exclusive = false`) gets none,
//! and its report says so.

use std::sync::{Mutex, PoisonError};

use crate::model::profile::CpuProfile;

/// A profiler armed for a test: [`begin`](Self::begin) at the measured
/// phase's start (once), [`finish`](Self::finish) after the last run.
pub(crate) struct CpuProfiler {
    frequency: u32,
    state: Mutex<State>,
}

enum State {
    Armed,
    #[cfg(all(unix, feature = "cpu-profile"))]
    Running(pprof::ProfilerGuard<'static>),
    Failed(String),
}

impl CpuProfiler {
    pub(crate) fn new(frequency: u32) -> CpuProfiler {
        CpuProfiler {
            frequency,
            state: Mutex::new(State::Armed),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Starts sampling, unless it already has (a later run of the test).
    pub(crate) fn begin(&self) {
        let _paused = crate::measure::scope::pause();
        let mut state = self.state();
        if !matches!(*state, State::Armed) {
            return;
        }
        *state = start(self.frequency);
    }

    /// Stops sampling and builds the profile.
    pub(crate) fn finish(&self) -> CpuProfile {
        let _paused = crate::measure::scope::pause();
        let state = std::mem::replace(&mut *self.state(), State::Failed("finished".into()));
        match state {
            State::Armed => CpuProfile::unavailable(
                self.frequency,
                "the measured phase never started (gated, or stopped during warm-up)",
            ),
            State::Failed(why) => CpuProfile::unavailable(self.frequency, why),
            #[cfg(all(unix, feature = "cpu-profile"))]
            State::Running(guard) => build(&guard, self.frequency)
                .unwrap_or_else(|why| CpuProfile::unavailable(self.frequency, why)),
        }
    }
}

#[cfg(all(unix, feature = "cpu-profile"))]
fn start(frequency: u32) -> State {
    // Frames in these libraries are skipped: unwinding through them from a
    // signal handler can deadlock (pprof's advice).
    match pprof::ProfilerGuardBuilder::default()
        .frequency(i32::try_from(frequency).unwrap_or(i32::MAX))
        .blocklist(&["libc", "libgcc", "pthread", "vdso"])
        .build()
    {
        Ok(guard) => State::Running(guard),
        Err(e) => State::Failed(format!(
            "the profiler could not start ({e}): another profiled test may be running beside this one"
        )),
    }
}

#[cfg(not(all(unix, feature = "cpu-profile")))]
fn start(_frequency: u32) -> State {
    State::Failed(if cfg!(unix) {
        "perf-runtime was built without its `cpu-profile` feature".into()
    } else {
        "CPU profiles need a Unix system (SIGPROF)".into()
    })
}

/// Drops the frames of the unwinder itself from the top of a stack (an
/// unoptimised build keeps `backtrace::trace_unsynchronized` and pprof's
/// `Trace::trace` there): the stack then starts where the signal landed.
#[cfg(all(unix, feature = "cpu-profile"))]
fn drop_profiler_frames(frames: &mut pprof::Frames) {
    let own = |name: &str| {
        name.starts_with("backtrace::")
            || name.contains("pprof::")
            || name.contains("perf_signal_handler")
    };
    let n = frames
        .frames
        .iter()
        .take_while(|f| f.iter().any(|s| own(&s.name())))
        .count();
    frames.frames.drain(..n);
}

#[cfg(all(unix, feature = "cpu-profile"))]
fn build(guard: &pprof::ProfilerGuard<'static>, frequency: u32) -> Result<CpuProfile, String> {
    use pprof::protos::Message as _;

    let report = guard
        .report()
        .frames_post_processor(drop_profiler_frames)
        .build()
        .map_err(|e| format!("the profile could not be read: {e}"))?;
    // The leaf of each stack: its first frame's innermost (inlined) symbol.
    let leaves = report.data.iter().filter_map(|(frames, count)| {
        let symbol = frames.frames.first()?.first()?;
        Some((symbol.name(), u64::try_from(*count).unwrap_or(0)))
    });
    let (samples, top) =
        crate::model::profile::top_functions(leaves, crate::model::profile::TOP_FUNCTIONS);
    let profile = report
        .pprof()
        .map_err(|e| format!("the profile could not be encoded: {e}"))?;
    let mut encoded = Vec::with_capacity(profile.encoded_len());
    profile
        .encode(&mut encoded)
        .map_err(|e| format!("the profile could not be encoded: {e}"))?;
    let pprof_gz = crate::model::profile::gzip(&encoded)
        .map_err(|e| format!("the profile could not be compressed: {e}"))?;
    let mut flamegraph_svg = Vec::new();
    if samples > 0 {
        report
            .flamegraph(&mut flamegraph_svg)
            .map_err(|e| format!("the flame graph could not be drawn: {e}"))?;
    }
    Ok(CpuProfile {
        frequency_hz: frequency,
        samples,
        top,
        files: Vec::new(),
        unavailable: None,
        pprof_gz,
        flamegraph_svg,
    })
}
