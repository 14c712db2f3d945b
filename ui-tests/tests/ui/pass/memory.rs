use perf_runtime::perf_test;

perf_runtime::track_allocations!();

#[perf_test(repeat = 100, peak_heap < "100MB", allocs_per_iter <= 3, bytes_per_iter < "4KiB", leaks == 0)]
async fn every_memory_threshold() {}

#[perf_test(repeat = 100, peak_heap <= "1.5GiB", leak_per_iter < "64B", leaks < 1, allocs_per_iter < 2.5)]
async fn other_spellings() {}

fn main() {}
