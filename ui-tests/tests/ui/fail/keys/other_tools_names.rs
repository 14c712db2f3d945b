use perf_runtime::perf_test;

// Names a k6 or Gatling user writes first: each gets ours.
#[perf_test(vus = 10, rampUp = "10s", rps > 100, errors < 0.01, http_req_duration < "200ms", http_req_failed < 0.01)]
async fn k6_and_gatling_names() {}

fn main() {}
