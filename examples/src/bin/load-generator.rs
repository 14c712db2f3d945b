//! The load-generator Lambda function of the distributed showcase: each
//! invocation runs one shard of a perf test and answers with its shard
//! result (see `perf_runtime::aws::lambda::fanout`).
//!
//! Package it for AWS with `cargo lambda build --release --bin
//! load-generator`; locally, `tests/distributed.rs` runs it under
//! cargo-lambda (`scripts/aws-stack`).

use lambda_runtime::{service_fn, Error, LambdaEvent};
use perf_examples::distributed::{checkout, checkout_body, CHECKOUT};
use perf_runtime::aws::lambda::fanout::GeneratorRequest;
use perf_runtime::shard::ShardResult;

async fn handle(event: LambdaEvent<GeneratorRequest>) -> Result<ShardResult, Error> {
    let request = event.payload;
    match request.test.as_str() {
        CHECKOUT => Ok(request.run(checkout(), checkout_body).await?),
        other => Err(format!("this generator has no perf test {other:?}").into()),
    }
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::run(service_fn(handle)).await
}
