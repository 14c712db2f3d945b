use perf_runtime::perf_test;

#[perf_test(repeat = 10, validate = "check")]
async fn case() -> u32 {
    1
}

fn main() {}
