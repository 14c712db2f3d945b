use perf_runtime::perf_test;

#[perf_test(workers = 18446744073709551615, repeat = 10)]
async fn too_many() {}

#[perf_test(workers = 20, repeat = 10)]
async fn more_workers_than_iterations() {}

fn main() {}
