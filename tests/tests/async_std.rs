//! The conformance suite on async-std: scenarios spawned on async-std's executor, with
//! `VirtualTimer` and with the real `AsyncIoTimer` (async-std runs on async-io) in short
//! real-time units.

use std::future::Future;
use std::time::Duration;

use steadfast::VirtualTimer;
use steadfast_conformance::{
    Env, bulkhead_scenarios, concurrency_scenarios, retry_scenarios, timeout_scenarios,
};
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

    timeout_scenarios!(run);

    mod bracket {
        steadfast_conformance::bracket_scenarios!(super::run);
        steadfast_conformance::bracket_panic_scenarios!(super::run);
    }

    mod events {
        steadfast_conformance::events_scenarios!(super::run);
        steadfast_conformance::fixed_events_scenarios!(super::run);
        steadfast_conformance::events_panic_scenarios!(super::run);
    }

    mod pitfalls {
        steadfast_conformance::pitfalls_scenarios!(super::run);
    }
    bulkhead_scenarios!(run);
    concurrency_scenarios!(run);
    steadfast_conformance::map_bounded_scenarios!(run);
    steadfast_conformance::scoped_group_scenarios!(run);

    mod retry {
        super::retry_scenarios!(super::run);
    }

    mod pool_batch {
        steadfast_conformance::pool_scenarios!(super::run);
        steadfast_conformance::batch_scenarios!(super::run);
        steadfast_conformance::batch_stream_scenarios!(super::run);
    }
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

    timeout_scenarios!(run);

    mod bracket {
        steadfast_conformance::bracket_scenarios!(super::run);
        steadfast_conformance::bracket_panic_scenarios!(super::run);
    }

    mod events {
        steadfast_conformance::events_scenarios!(super::run);
        steadfast_conformance::fixed_events_scenarios!(super::run);
        steadfast_conformance::events_panic_scenarios!(super::run);
    }

    mod pitfalls {
        steadfast_conformance::pitfalls_scenarios!(super::run);
    }
    bulkhead_scenarios!(run);
    concurrency_scenarios!(run);
    steadfast_conformance::map_bounded_scenarios!(run);
    steadfast_conformance::scoped_group_scenarios!(run);

    mod retry {
        super::retry_scenarios!(super::run);
    }

    mod pool_batch {
        steadfast_conformance::pool_scenarios!(super::run);
        steadfast_conformance::batch_scenarios!(super::run);
        steadfast_conformance::batch_stream_scenarios!(super::run);
    }
}
