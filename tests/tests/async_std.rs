//! The conformance suite on async-std: scenarios spawned on async-std's executor, with
//! `VirtualTimer` and with the real `AsyncIoTimer` (async-std runs on async-io) in short
//! real-time units; and the spawn scenarios, from async-std, on smol's global executor.

use std::future::Future;
use std::time::Duration;

use steadfast::VirtualTimer;
use steadfast_conformance::{Env, spawner_scenarios, timer_scenarios};
use steadfast_smol::{AsyncIoTimer, SmolSpawner};

mod virtual_time {
    use super::*;

    fn run<F>(scenario: impl FnOnce(Env<VirtualTimer>) -> F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        let timer = VirtualTimer::new();
        let fut = timer.auto_advance(scenario(Env::virtual_time(timer.clone())));
        async_std::task::block_on(async_std::task::spawn(fut));
    }

    timer_scenarios!(run);
}

mod real_time {
    use super::*;

    fn run<F>(scenario: impl FnOnce(Env<AsyncIoTimer>) -> F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        let env = Env::real_time(
            AsyncIoTimer::new(),
            Duration::from_millis(10),
            Duration::from_millis(250),
        );
        async_std::task::block_on(async_std::task::spawn(scenario(env)));
    }

    timer_scenarios!(run);
}

mod spawn_from_async_std {
    use super::*;

    fn run<F>(scenario: impl FnOnce(SmolSpawner) -> F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        async_std::task::block_on(async_std::task::spawn(scenario(SmolSpawner::global())));
    }

    spawner_scenarios!(run);
}
