//! An execution's history as a trace: per-state timings, transitions,
//! parallel branches and the failure, parsed from the event history.

use super::*;

/// An event's time in nanoseconds since the epoch.
pub(crate) fn at(e: &HistoryEvent) -> i128 {
    e.timestamp().as_nanos()
}

pub(crate) fn span(from: i128, to: i128) -> Duration {
    Duration::from_nanos((to - from).max(0) as u64)
}

/// Builds the trace of an execution from its history events (in order).
pub fn trace(execution_arn: &str, events: &[HistoryEvent]) -> ExecutionTrace {
    let by_id: HashMap<i64, &HistoryEvent> = events.iter().map(|e| (e.id(), e)).collect();
    let first = events.first().map_or(0, at);
    let last = events.last().map_or(0, at);
    let status = events
        .iter()
        .rev()
        .map(|e| e.r#type().as_str())
        .find_map(|t| match t {
            "ExecutionSucceeded" => Some("SUCCEEDED"),
            "ExecutionFailed" => Some("FAILED"),
            "ExecutionTimedOut" => Some("TIMED_OUT"),
            "ExecutionAborted" => Some("ABORTED"),
            _ => None,
        })
        .unwrap_or("RUNNING");

    // Open states by name (FIFO: Map iterations reuse names), with what
    // happened inside them so far.
    struct Open {
        index: usize,
        entered_at: i128,
        scheduled: u32,
        first_failure: Option<i128>,
        last_error: Option<String>,
    }
    let mut open: HashMap<String, VecDeque<Open>> = HashMap::new();
    let mut states: Vec<StateTiming> = Vec::new();
    let mut transitions = Vec::new();
    let mut map_started: HashMap<(String, i32), i128> = HashMap::new();
    let mut map_iterations = Vec::new();
    // The innermost state entered most recently and not exited: task
    // events belong to it.
    let mut stack: Vec<String> = Vec::new();
    for e in events {
        let kind = e.r#type().as_str();
        if let Some(d) = e.state_entered_event_details() {
            let name = d.name().to_owned();
            if let Some(prev) = by_id.get(&e.previous_event_id()) {
                if let Some(x) = prev.state_exited_event_details() {
                    transitions.push(Transition {
                        from: x.name().to_owned(),
                        to: name.clone(),
                        gap: span(at(prev), at(e)),
                    });
                }
            }
            states.push(StateTiming {
                name: name.clone(),
                kind: kind.trim_end_matches("StateEntered").to_owned(),
                entered: span(first, at(e)),
                duration: Duration::ZERO,
                retries: 0,
                caught: None,
                recovery: None,
            });
            open.entry(name.clone()).or_default().push_back(Open {
                index: states.len() - 1,
                entered_at: at(e),
                scheduled: 0,
                first_failure: None,
                last_error: None,
            });
            stack.push(name);
        } else if let Some(d) = e.state_exited_event_details() {
            let name = d.name();
            if let Some(o) = open.get_mut(name).and_then(VecDeque::pop_front) {
                let s = &mut states[o.index];
                s.duration = span(o.entered_at, at(e));
                s.retries = o.scheduled.saturating_sub(1);
                s.recovery = o.first_failure.map(|f| span(f, at(e)));
                // Exited right after a failure: a Catch took it.
                s.caught = o.last_error;
            }
            if let Some(i) = stack.iter().rposition(|n| n == name) {
                stack.remove(i);
            }
        } else if matches!(
            kind,
            "TaskScheduled" | "LambdaFunctionScheduled" | "ActivityScheduled"
        ) {
            if let Some(o) = current(&mut open, &stack) {
                o.scheduled += 1;
                o.last_error = None;
            }
        } else if let Some(error) = failure(e) {
            if let Some(o) = current(&mut open, &stack) {
                o.first_failure.get_or_insert(at(e));
                o.last_error = Some(error);
            }
        } else if matches!(
            kind,
            "TaskSucceeded" | "LambdaFunctionSucceeded" | "ActivitySucceeded"
        ) {
            if let Some(o) = current(&mut open, &stack) {
                o.last_error = None;
            }
        } else if kind == "MapIterationStarted" {
            if let Some(d) = e.map_iteration_started_event_details() {
                map_started.insert((d.name().unwrap_or("").to_owned(), d.index()), at(e));
            }
        } else if matches!(kind, "MapIterationSucceeded" | "MapIterationFailed") {
            let d = e
                .map_iteration_succeeded_event_details()
                .or(e.map_iteration_failed_event_details());
            if let Some(d) = d {
                if let Some(t) = map_started.remove(&(d.name().unwrap_or("").to_owned(), d.index()))
                {
                    map_iterations.push(span(t, at(e)));
                }
            }
        }
    }
    ExecutionTrace {
        execution_arn: execution_arn.to_owned(),
        status: status.to_owned(),
        total: span(first, last),
        states,
        transitions,
        parallel_branches: parallel_branches(events),
        map_iterations,
        client_latency: Duration::ZERO,
    }
}

fn current<'a, T>(
    open: &'a mut HashMap<String, VecDeque<T>>,
    stack: &[String],
) -> Option<&'a mut T> {
    open.get_mut(stack.last()?)?.back_mut()
}

/// The error of a task failure event, if it is one.
fn failure(e: &HistoryEvent) -> Option<String> {
    let (error, cause) = if let Some(d) = e.task_failed_event_details() {
        (d.error(), d.cause())
    } else if let Some(d) = e.lambda_function_failed_event_details() {
        (d.error(), d.cause())
    } else if let Some(d) = e.task_timed_out_event_details() {
        (d.error(), d.cause())
    } else if let Some(d) = e.lambda_function_timed_out_event_details() {
        (d.error(), d.cause())
    } else if let Some(d) = e.activity_failed_event_details() {
        (d.error(), d.cause())
    } else {
        return None;
    };
    Some(match (error, cause) {
        (Some(e), Some(c)) => format!("{e}: {c}"),
        (Some(e), None) => e.to_owned(),
        (None, Some(c)) => c.to_owned(),
        (None, None) => e.r#type().as_str().to_owned(),
    })
}

/// Each Parallel branch's duration: a branch is the chain of events that
/// starts with a state entered right after `ParallelStateStarted` (its
/// `previousEventId`), followed through `previousEventId` links until the
/// Parallel state ends.
fn parallel_branches(events: &[HistoryEvent]) -> Vec<Duration> {
    let mut children: HashMap<i64, Vec<&HistoryEvent>> = HashMap::new();
    for e in events {
        children.entry(e.previous_event_id()).or_default().push(e);
    }
    let mut branches = Vec::new();
    for started in events
        .iter()
        .filter(|e| e.r#type().as_str() == "ParallelStateStarted")
    {
        for root in children.get(&started.id()).into_iter().flatten() {
            if root.state_entered_event_details().is_none() {
                continue;
            }
            let mut end = at(root);
            let mut todo = vec![*root];
            while let Some(e) = todo.pop() {
                end = end.max(at(e));
                for c in children.get(&e.id()).into_iter().flatten() {
                    if !matches!(
                        c.r#type().as_str(),
                        "ParallelStateSucceeded" | "ParallelStateFailed" | "ParallelStateAborted"
                    ) {
                        todo.push(c);
                    }
                }
            }
            branches.push(span(at(root), end));
        }
    }
    branches
}
