//! Distributed load, the serverless way: the perf test
//! `distributed::checkout` (declared in `src/distributed.rs`) runs as 4
//! shards inside 4 copies of the load-generator Lambda function
//! (`src/bin/load-generator.rs`, local processes under cargo-lambda), and
//! this process merges their results and judges the thresholds once.

use std::collections::BTreeSet;

use perf_examples::distributed::CHECKOUT;
use perf_runtime::aws::lambda::fanout::FanOut;
use perf_runtime::aws::{self, lambda::Function};
use perf_runtime::shard;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lambda_fan_out_runs_four_generators_and_merges_them() {
    let Some(stack) = aws::stack_or_skip("lambda_fan_out") else {
        return;
    };
    let generator = Function::builder("load-generator")
        .local_binary(env!("CARGO_BIN_EXE_load-generator"))
        .concurrency(4)
        .connect(&stack)
        .await
        .unwrap();

    // The fan-out as a user writes it: invoke, merge, judge.
    let report = FanOut::new(&generator, 4).run(CHECKOUT).await.unwrap();
    report.assert_passed();
    assert_eq!(report.iterations, 800);
    assert_eq!(report.custom["orders"].sum, 800.0);
    assert_eq!(report.load.workers, 8, "the declared load");

    // The same, unmerged: four shards, from four generator processes.
    let results = FanOut::new(&generator, 4).collect(CHECKOUT).await.unwrap();
    let shards: BTreeSet<u32> = results.iter().map(|r| r.shard.index).collect();
    assert_eq!(shards, BTreeSet::from([1, 2, 3, 4]));
    let origins: BTreeSet<&str> = results.iter().map(|r| r.origin.as_str()).collect();
    assert_eq!(origins.len(), 4, "{origins:?}");
    for r in &results {
        assert_eq!(r.data.iterations, 200, "shard {}", r.shard);
        assert_eq!(r.load.workers, 2);
    }
    // No shard could meet `count of "orders" >= 800` alone; the merge does.
    let merged = shard::merge(results).unwrap();
    assert!(merged.passed, "{}", merged.summary());
}

/// The same perf test as a plain test: one machine by default, one shard
/// under `PERF_SHARD` or an Indexed Job / AWS Batch array job (the
/// documents in `examples/distributed/` run `distributed --exact
/// checkout`). Unsharded, it is judged here; sharded, after the merge.
#[test]
fn checkout() {
    let report = perf_examples::distributed::checkout()
        .run(perf_examples::distributed::checkout_body)
        .unwrap();
    report.assert_passed();
}
