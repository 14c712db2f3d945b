use perf_runtime::perf_test;

#[perf_test(heap_profile = 4096)]
async fn case() {}

#[perf_test(heap_profile = "2GiB")]
async fn too_sparse() {}

fn main() {}
