use perf_runtime::perf_test;

struct State;

async fn make() -> State {
    State
}

async fn stop(_: std::sync::Arc<State>) {}

// A teardown without a setup.
#[perf_test(teardown = stop)]
async fn teardown_alone() {}

// The state taken by value.
#[perf_test(setup = make)]
async fn by_value(state: State) {
    let _ = state;
}

// A string instead of a function.
#[perf_test(setup = "make")]
async fn a_string() {}

fn main() {}
