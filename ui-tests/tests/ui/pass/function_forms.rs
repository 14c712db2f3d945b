use perf_runtime::perf_test;

use perf_runtime::Ctx;

#[perf_test]
async fn no_arguments_at_all() {}

#[perf_test(repeat = 10)]
async fn returns_unit() {}

#[perf_test(repeat = 10)]
async fn returns_result() -> Result<u64, String> {
    Ok(1)
}

/// Any other output is a success, black-boxed.
#[perf_test(repeat = 10)]
async fn returns_a_value() -> usize {
    42
}

#[perf_test(repeat = 10)]
async fn returns_a_vec() -> Vec<String> {
    vec!["kept from the optimiser".into()]
}

type Outcome = Result<(), std::io::Error>;

/// An alias of `Result` is still an outcome.
#[perf_test(repeat = 10)]
async fn returns_an_alias() -> Outcome {
    Ok(())
}

#[perf_test(repeat = 10)]
async fn ctx_by_value(ctx: Ctx) {
    let _ = ctx.iteration();
}

#[perf_test(repeat = 10)]
async fn ctx_by_reference(ctx: &Ctx) {
    let _ = ctx.worker();
}

#[perf_test(repeat = 10)]
async fn ctx_by_full_path(_ctx: &perf_runtime::Ctx) {}

/// Docs, `#[should_panic]`, `#[ignore]` and lints are kept.
#[perf_test(repeat = 10)]
#[should_panic(expected = "boom")]
#[ignore]
#[allow(unused_variables)]
async fn with_other_attributes() {
    let unused = 1;
    panic!("boom");
}

#[perf_test(repeat = 10)]
pub async fn public_test() {}

fn main() {}
