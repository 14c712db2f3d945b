use perf_runtime::perf_test;

// k6's names of the HTTP client's metrics are custom metrics here.
#[perf_test(repeat = 10, http_req_duration < "1s", http_req_waiting < "500ms")]
async fn http_metrics() {}

fn main() {}
