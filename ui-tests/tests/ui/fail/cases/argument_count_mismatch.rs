use perf_runtime::perf_test;

#[perf_test(repeat = 10)]
#[case::small(100, 200, 300)]
async fn put(size: usize) -> usize {
    size
}

fn main() {}
