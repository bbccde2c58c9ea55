//! The conformance suite on `VirtualTimer` alone, driven by a minimal executor.

use std::future::Future;

use steadfast::VirtualTimer;
use steadfast_conformance::{
    Env, bulkhead_scenarios, concurrency_scenarios, retry_scenarios, timeout_scenarios,
};

fn run<F: Future<Output = ()>>(scenario: impl FnOnce(Env<VirtualTimer>) -> F) {
    let timer = VirtualTimer::new();
    futures_executor::block_on(timer.auto_advance(scenario(Env::virtual_time(timer.clone()))));
}

timeout_scenarios!(run);

mod bulkhead {
    super::bulkhead_scenarios!(super::run);
}

mod concurrency {
    super::concurrency_scenarios!(super::run);
    steadfast_conformance::map_bounded_scenarios!(super::run);
}

mod task_group {
    steadfast_conformance::scoped_group_scenarios!(super::run);
}

mod retry {
    super::retry_scenarios!(super::run);
}

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

mod pool_batch {
    steadfast_conformance::pool_scenarios!(super::run);
    steadfast_conformance::batch_scenarios!(super::run);
    steadfast_conformance::batch_stream_scenarios!(super::run);
}
