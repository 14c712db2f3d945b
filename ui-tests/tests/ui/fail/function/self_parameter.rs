use perf_runtime::perf_test;

struct S;

impl S {
    #[perf_test(repeat = 10)]
    async fn case(&self) {}
}

fn main() {}
