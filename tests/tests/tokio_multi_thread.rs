//! The conformance suite on tokio's multi-thread runtime: scenarios run as spawned tasks on
//! the worker threads, on `VirtualTimer` (tokio's paused clock needs the current-thread
//! runtime), and `TokioSpawner`.

use std::future::Future;

use steadfast::VirtualTimer;
use steadfast_conformance::{
    Env, bulkhead_scenarios, concurrency_scenarios, retry_scenarios, spawn_scenarios,
    timeout_scenarios,
};
use steadfast_tokio::TokioSpawner;
use tokio::runtime::{Builder, Runtime};

fn runtime() -> Runtime {
    Builder::new_multi_thread()
        .worker_threads(2)
        .enable_time()
        .build()
        .expect("a multi-thread runtime")
}

fn run<F>(scenario: impl FnOnce(Env<VirtualTimer>) -> F)
where
    F: Future<Output = ()> + Send + 'static,
{
    let rt = runtime();
    let timer = VirtualTimer::new();
    let task = rt.spawn(timer.auto_advance(scenario(Env::virtual_time(timer.clone()))));
    rt.block_on(task).expect("the scenario passed");
}

fn run_spawn<F>(scenario: impl FnOnce(TokioSpawner) -> F)
where
    F: Future<Output = ()> + Send + 'static,
{
    let rt = runtime();
    let spawner = TokioSpawner::from_handle(rt.handle().clone());
    rt.block_on(rt.spawn(scenario(spawner)))
        .expect("the scenario passed");
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
