//! The conformance suite on tokio's current-thread runtime: `TokioTimer` on tokio's paused
//! clock (virtual time), the `Timer` contract on the real clock too, and `TokioSpawner`;
//! errors into `anyhow` and the one clock origin of every `TokioTimer`.

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

mod errors_and_origin {
    use super::*;
    use steadfast::retry::RetryBudget;
    use steadfast::{Instant, JoinError, Spawn};

    async fn spawned_sum(spawner: &TokioSpawner, fail: bool) -> anyhow::Result<u32> {
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
        runtime(false).block_on(async {
            let spawner = TokioSpawner::current();
            assert_eq!(spawned_sum(&spawner, false).await.unwrap(), 42);
            let err = spawned_sum(&spawner, true).await.unwrap_err();
            let join = err.downcast_ref::<JoinError>().expect("a JoinError");
            assert_eq!(join.panic_message(), Some("the sum exploded"));
            assert_eq!(
                format!("{err:#}"),
                "task panicked: panicked: the sum exploded"
            );
            let boxed: Box<dyn std::error::Error + Send + Sync> = spawner
                .spawn(async { panic!("boxed") })
                .await
                .unwrap_err()
                .into();
            assert_eq!(boxed.to_string(), "task panicked");
        });
    }

    #[test]
    fn two_timers_made_apart_read_one_clock() {
        runtime(true).block_on(async {
            let first = TokioTimer::new();
            tokio::time::advance(Duration::from_secs(5)).await;
            let second = TokioTimer::new();
            assert_eq!(first.now(), second.now());
            let deadline = first.now() + Duration::from_secs(2);
            second.sleep_until(deadline).await;
            assert_eq!(first.now(), deadline);
        });
        // A later runtime, on the real clock, reads the same clock too.
        let earlier = runtime(false).block_on(async { TokioTimer::new().now() });
        let later = runtime(false).block_on(async { TokioTimer::new().now() });
        assert!(later >= earlier && later > Instant::ZERO);
    }

    /// An hour of healthy traffic then an outage, one budget used through one shared timer,
    /// another through a timer made per request: both let the same retries through.
    #[test]
    fn a_retry_budget_used_across_timers_holds() {
        runtime(true).block_on(async {
            let (with_shared, with_per_request) = (RetryBudget::new(), RetryBudget::new());
            let shared = TokioTimer::new();
            for _ in 0..3_600 {
                with_shared.deposit(shared.now());
                with_per_request.deposit(TokioTimer::new().now());
                tokio::time::advance(Duration::from_secs(1)).await;
            }
            let (mut a, mut b) = (0u32, 0u32);
            for _ in 0..1_000 {
                with_shared.deposit(shared.now());
                with_per_request.deposit(TokioTimer::new().now());
                a += u32::from(with_shared.try_withdraw(shared.now()));
                b += u32::from(with_per_request.try_withdraw(TokioTimer::new().now()));
                tokio::time::advance(Duration::from_millis(1)).await;
            }
            assert!(a > 0 && a < 1_000, "{a}");
            assert_eq!(
                b, a,
                "a timer per request let a different number of retries through"
            );
        });
    }
}
