use perf_runtime::perf_test;

struct State;

async fn make() -> State {
    State
}

// `setup` misspelt: the state parameter has no setup to come from.
#[perf_test(stup = make)]
async fn misspelt(state: &State) {
    let _ = state;
}

fn main() {}
