//! The conformance suite on smol: scenarios on smol's executor with `VirtualTimer`, and with
//! the real `AsyncIoTimer` in short real-time units; `SmolSpawner` on a supplied executor and
//! on smol's global one; errors into `anyhow` and the one clock origin of every
//! `AsyncIoTimer`.

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

mod errors_and_origin {
    use super::*;
    use steadfast::{JoinError, Spawn};

    async fn spawned_sum(spawner: &SmolSpawner, fail: bool) -> anyhow::Result<u32> {
        let value = spawner
            .spawn(async move {
                assert!(!fail, "the sum exploded");
                40 + 2
            })
            .await?;
        Ok(value)
    }

    #[test]
    fn a_join_error_goes_into_anyhow_with_question_mark() {
        smol::block_on(async {
            let spawner = SmolSpawner::global();
            assert_eq!(spawned_sum(&spawner, false).await.unwrap(), 42);
            let err = spawned_sum(&spawner, true).await.unwrap_err();
            let join = err.downcast_ref::<JoinError>().expect("a JoinError");
            assert_eq!(join.panic_message(), Some("the sum exploded"));
            assert_eq!(
                format!("{err:#}"),
                "task panicked: panicked: the sum exploded"
            );
        });
    }

    #[test]
    fn two_timers_made_apart_read_one_clock() {
        let first = AsyncIoTimer::new();
        let at_first = first.now();
        // Real time must pass between the two: the OS clock is the only one async-io has.
        std::thread::sleep(Duration::from_millis(5));
        let second = AsyncIoTimer::new();
        let (a, b, c) = (first.now(), second.now(), first.now());
        assert!(a <= b && b <= c, "{a:?} {b:?} {c:?}");
        assert!(b - at_first >= Duration::from_millis(5));
        smol::block_on(async {
            let deadline = first.now() + Duration::from_millis(2);
            second.sleep_until(deadline).await;
            assert!(first.now() >= deadline);
        });
    }
}
