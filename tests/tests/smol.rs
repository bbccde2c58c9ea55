//! The conformance suite on smol: scenarios on smol's executor with `VirtualTimer`, and with
//! the real `AsyncIoTimer` in short real-time units; `SmolSpawner` on a supplied executor and
//! on smol's global one.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use smol::Executor;
use steadfast::VirtualTimer;
use steadfast_conformance::{
    Env, bulkhead_scenarios, concurrency_scenarios, retry_scenarios, spawn_scenarios,
    timeout_scenarios,
};
use steadfast_smol::{AsyncIoTimer, SmolSpawner};

mod virtual_time {
    use super::*;

    fn run<F: Future<Output = ()>>(scenario: impl FnOnce(Env<VirtualTimer>) -> F) {
        let ex = Executor::new();
        let timer = VirtualTimer::new();
        smol::block_on(ex.run(timer.auto_advance(scenario(Env::virtual_time(timer.clone())))));
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

    fn run<F: Future<Output = ()>>(scenario: impl FnOnce(Env<AsyncIoTimer>) -> F) {
        let ex = Executor::new();
        let env = Env::real_time(
            AsyncIoTimer::new(),
            Duration::from_millis(10),
            Duration::from_millis(250),
        );
        smol::block_on(ex.run(scenario(env)));
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

mod spawn_on_supplied_executor {
    use super::*;

    fn run<F: Future<Output = ()>>(scenario: impl FnOnce(SmolSpawner) -> F) {
        let ex = Arc::new(Executor::new());
        smol::block_on(ex.run(scenario(SmolSpawner::new(ex.clone()))));
    }

    spawn_scenarios!(run);
    steadfast_conformance::task_group_scenarios!(run);

    mod bracket {
        steadfast_conformance::bracket_spawn_scenarios!(super::run);
    }

    mod pool_batch {
        steadfast_conformance::worker_pool_scenarios!(super::run);
        steadfast_conformance::batcher_spawn_scenarios!(super::run);
    }
}

mod spawn_on_global_executor {
    use super::*;

    fn run<F: Future<Output = ()>>(scenario: impl FnOnce(SmolSpawner) -> F) {
        smol::block_on(scenario(SmolSpawner::global()));
    }

    spawn_scenarios!(run);
    steadfast_conformance::task_group_scenarios!(run);

    mod bracket {
        steadfast_conformance::bracket_spawn_scenarios!(super::run);
    }

    mod pool_batch {
        steadfast_conformance::worker_pool_scenarios!(super::run);
        steadfast_conformance::batcher_spawn_scenarios!(super::run);
    }
}
