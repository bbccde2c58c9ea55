//! The conformance suite on tokio's current-thread runtime: `TokioTimer` on tokio's paused
//! clock (virtual time), and `TokioSpawner`.

use std::future::Future;

use steadfast_conformance::{
    Env, bulkhead_scenarios, concurrency_scenarios, retry_scenarios, spawn_scenarios,
    timeout_scenarios,
};
use steadfast_tokio::{TokioSpawner, TokioTimer};
use tokio::runtime::{Builder, Runtime};

fn runtime(paused: bool) -> Runtime {
    Builder::new_current_thread()
        .enable_time()
        .start_paused(paused)
        .build()
        .expect("a current-thread runtime")
}

fn run<F: Future<Output = ()>>(scenario: impl FnOnce(Env<TokioTimer>) -> F) {
    runtime(true).block_on(async { scenario(Env::virtual_time(TokioTimer::new())).await });
}

fn run_spawn<F: Future<Output = ()>>(scenario: impl FnOnce(TokioSpawner) -> F) {
    runtime(false).block_on(async { scenario(TokioSpawner::current()).await });
}

mod timeout {
    super::timeout_scenarios!(super::run);
}

mod spawn {
    super::spawn_scenarios!(super::run_spawn);
}

mod bulkhead {
    super::bulkhead_scenarios!(super::run);
}

mod concurrency {
    super::concurrency_scenarios!(super::run);
    steadfast_conformance::map_bounded_scenarios!(super::run);
}

mod task_group {
    steadfast_conformance::scoped_group_scenarios!(super::run);
    steadfast_conformance::task_group_scenarios!(super::run_spawn);
}

mod retry {
    super::retry_scenarios!(super::run);
}

mod bracket {
    steadfast_conformance::bracket_scenarios!(super::run);
    steadfast_conformance::bracket_panic_scenarios!(super::run);
    steadfast_conformance::bracket_spawn_scenarios!(super::run_spawn);
}

mod events {
    steadfast_conformance::events_scenarios!(super::run);
    steadfast_conformance::fixed_events_scenarios!(super::run);
    steadfast_conformance::events_panic_scenarios!(super::run);
}

mod pitfalls {
    steadfast_conformance::pitfalls_scenarios!(super::run);
}

mod pool_batch {
    steadfast_conformance::pool_scenarios!(super::run);
    steadfast_conformance::batch_scenarios!(super::run);
    steadfast_conformance::batch_stream_scenarios!(super::run);
}

mod pool_batch_spawn {
    steadfast_conformance::worker_pool_scenarios!(super::run_spawn);
    steadfast_conformance::batcher_spawn_scenarios!(super::run_spawn);
}
