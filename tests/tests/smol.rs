//! The conformance suite on smol: scenarios on smol's executor with `VirtualTimer`, and with
//! the real `AsyncIoTimer` in short real-time units; `SmolSpawner` on a supplied executor and
//! on smol's global one.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use smol::Executor;
use steadfast::VirtualTimer;
use steadfast_conformance::{Env, spawner_scenarios, timer_scenarios};
use steadfast_smol::{AsyncIoTimer, SmolSpawner};

mod virtual_time {
    use super::*;

    fn run<F: Future<Output = ()>>(scenario: impl FnOnce(Env<VirtualTimer>) -> F) {
        let ex = Executor::new();
        let timer = VirtualTimer::new();
        smol::block_on(ex.run(timer.auto_advance(scenario(Env::virtual_time(timer.clone())))));
    }

    timer_scenarios!(run);
}

mod real_time {
    use super::*;

    fn run<F: Future<Output = ()>>(scenario: impl FnOnce(Env<AsyncIoTimer>) -> F) {
        let ex = Executor::new();
        let env = Env::real_time(
            AsyncIoTimer::new(),
            Duration::from_millis(10),
            Duration::from_millis(250),
        );
        smol::block_on(ex.run(scenario(env)));
    }

    timer_scenarios!(run);
}

mod spawn_on_supplied_executor {
    use super::*;

    fn run<F: Future<Output = ()>>(scenario: impl FnOnce(SmolSpawner) -> F) {
        let ex = Arc::new(Executor::new());
        smol::block_on(ex.run(scenario(SmolSpawner::new(ex.clone()))));
    }

    spawner_scenarios!(run);
}

mod spawn_on_global_executor {
    use super::*;

    fn run<F: Future<Output = ()>>(scenario: impl FnOnce(SmolSpawner) -> F) {
        smol::block_on(scenario(SmolSpawner::global()));
    }

    spawner_scenarios!(run);
}
