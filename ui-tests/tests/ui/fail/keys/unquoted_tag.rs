use perf_runtime::perf_test;

// An unquoted tag is one error among the others, not the end of parsing.
#[perf_test(p95 for cold < "1s", wrokers = 4, leaks = 0)]
async fn unquoted_tag() {}

fn main() {}
