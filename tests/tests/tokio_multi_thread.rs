//! The conformance suite on tokio's multi-thread runtime: scenarios run as spawned tasks on
//! the worker threads, on `VirtualTimer` (tokio's paused clock needs the current-thread
//! runtime), the `Timer` contract of `TokioTimer` on the real clock, and `TokioSpawner`.

use std::future::Future;
use std::time::Duration;

use steadfast::VirtualTimer;
use steadfast_conformance::{Env, spawner_scenarios, timer_contract, timer_scenarios};
use steadfast_tokio::{TokioSpawner, TokioTimer};
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

timer_scenarios!(run);
spawner_scenarios!(run_spawn);

mod real_clock {
    use super::*;

    fn run<F>(scenario: impl FnOnce(Env<TokioTimer>) -> F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        let rt = runtime();
        let env = Env::real_time(
            TokioTimer::new(),
            Duration::from_millis(10),
            Duration::from_millis(250),
        );
        rt.block_on(rt.spawn(scenario(env)))
            .expect("the scenario passed");
    }

    timer_contract!(run);
}
