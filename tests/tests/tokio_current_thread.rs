//! The conformance suite on tokio's current-thread runtime: `TokioTimer` on tokio's paused
//! clock (virtual time), the `Timer` contract on the real clock too, and `TokioSpawner`.

use std::future::Future;
use std::time::Duration;

use steadfast_conformance::{Env, spawner_scenarios, timer_contract, timer_scenarios};
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

timer_scenarios!(run);
spawner_scenarios!(run_spawn);

mod real_clock {
    use super::*;

    fn run<F: Future<Output = ()>>(scenario: impl FnOnce(Env<TokioTimer>) -> F) {
        let env = Env::real_time(
            TokioTimer::new(),
            Duration::from_millis(10),
            Duration::from_millis(250),
        );
        runtime(false).block_on(scenario(env));
    }

    timer_contract!(run);
}
