use perf_runtime::perf_test;

// The expected output is a `&str`, the function returns `usize`: the error
// points at the value (not into `Arc::new`), in `cargo check` too.
#[perf_test(repeat = 10)]
#[case::short("abc".to_string(), "three")]
async fn length(text: String) -> usize {
    text.len()
}

fn main() {}
