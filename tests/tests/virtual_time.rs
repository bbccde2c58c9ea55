//! The conformance suite on `VirtualTimer` alone, driven by a minimal executor.

use std::future::Future;

use steadfast::VirtualTimer;
use steadfast_conformance::{Env, timer_scenarios};

fn run<F: Future<Output = ()>>(scenario: impl FnOnce(Env<VirtualTimer>) -> F) {
    let timer = VirtualTimer::new();
    futures_executor::block_on(timer.auto_advance(scenario(Env::virtual_time(timer.clone()))));
}

timer_scenarios!(run);
