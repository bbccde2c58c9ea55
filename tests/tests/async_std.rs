//! The conformance suite on async-std: scenarios spawned on async-std's executor, with
//! `VirtualTimer` and with the real `AsyncIoTimer` (async-std runs on async-io) in short
//! real-time units.

use std::future::Future;
use std::time::Duration;

use steadfast::VirtualTimer;
use steadfast_conformance::{Env, timer_scenarios};
use steadfast_smol::AsyncIoTimer;

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
