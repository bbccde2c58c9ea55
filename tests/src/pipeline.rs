//! Pipeline scenarios: each stage inside a pipeline on the runtime's clock, the order (a
//! breaker inside retry sees each attempt; an open circuit cuts the retry short), the
//! alternative order, every build rule, the fallback, hedging in the retry's place. No std, no
//! heap.

use core::future::{pending, ready};
use core::time::Duration;

use futures_util::future::join;
use portable_atomic::{AtomicU32, Ordering};
use steadfast::Timer;
use steadfast::breaker::{CircuitBreaker, State};
use steadfast::bulkhead::{Bulkhead, Rejected};
use steadfast::hedge::HedgePolicy;
use steadfast::limiter::RateLimiter;
use steadfast::pipeline::{Pipeline, PipelineError};
use steadfast::retry::{GiveUpReason, RetryBudget, RetryPolicy};

use crate::Env;

fn policy(attempts: u32, delay: Duration) -> RetryPolicy {
    RetryPolicy::builder()
        .max_attempts(attempts)
        .constant(delay)
        .build()
        .unwrap()
}

fn breaker(failures: u32, open_for: Duration) -> CircuitBreaker<2> {
    CircuitBreaker::builder()
        .consecutive_failures(failures)
        .open_for(open_for)
        .build()
        .unwrap()
}

/// Counts the attempts that ran; fails the first `fails`, then gives the attempt number.
async fn flaky(ran: &AtomicU32, fails: u32) -> Result<u32, u8> {
    let n = ran.fetch_add(1, Ordering::SeqCst) + 1;
    if n <= fails { Err(1) } else { Ok(n) }
}

/// Every stage in one pipeline: two failures are retried after the policy's delays on the
/// runtime's clock, each attempt passes the breaker, the limiter and the bulkhead, and
/// nothing is held afterwards.
pub async fn every_stage_in_one_call<T: Timer>(env: Env<T>) {
    let t = &env.timer;
    let b = breaker(5, env.units(10));
    let limiter = RateLimiter::builder(10, env.unit).build().unwrap();
    let bulkhead = Bulkhead::new(2);
    let budget = RetryBudget::new();
    let p = Pipeline::builder()
        .total_timeout(env.units(20))
        .retry(policy(4, env.units(1)))
        .budget(&budget)
        .breaker(&b)
        .limiter(&limiter)
        .bulkhead(&bulkhead)
        .attempt_timeout(env.units(5))
        .build()
        .unwrap();
    let ran = AtomicU32::new(0);
    let start = t.now();
    assert_eq!(p.call(t, || flaky(&ran, 2)).await, Ok(3));
    env.assert_elapsed(start, env.units(2));
    assert_eq!(bulkhead.metrics().in_flight, 0);
    assert_eq!(b.metrics(t.now()).consecutive_failures, 0);
    assert_eq!(limiter.metrics(t.now()).waiters, 0);
}

/// The breaker inside retry counts every attempt of one call; once it opens, the refusal is
/// not retried (no deadline to fit its wait in) and the call ends with the open circuit.
pub async fn an_open_circuit_cuts_the_retry_short<T: Timer>(env: Env<T>) {
    let t = &env.timer;
    let b = breaker(3, env.units(60));
    let p = Pipeline::builder()
        .retry(policy(10, env.units(1)))
        .breaker(&b)
        .build()
        .unwrap();
    let ran = AtomicU32::new(0);
    let start = t.now();
    let err = p.call(t, || flaky(&ran, 100)).await.unwrap_err();
    assert!(matches!(err, PipelineError::CircuitOpen(_)), "{err:?}");
    assert_eq!(
        ran.load(Ordering::SeqCst),
        3,
        "three attempts, then refused"
    );
    assert_eq!(b.state(t.now()), State::Open);
    assert!(err.retry_after().is_some_and(|w| w <= env.units(60)));
    env.assert_elapsed(start, env.units(3));
}

/// With a deadline, an open circuit whose wait fits it is waited out: the retry becomes the
/// half-open probe, which closes the breaker.
pub async fn an_open_circuit_is_waited_out_when_it_fits_the_deadline<T: Timer>(env: Env<T>) {
    let t = &env.timer;
    let b = breaker(1, env.units(4));
    let p = Pipeline::builder()
        .total_timeout(env.units(30))
        .retry(policy(5, env.units(1)))
        .breaker(&b)
        .build()
        .unwrap();
    let ran = AtomicU32::new(0);
    let start = t.now();
    assert_eq!(p.call(t, || flaky(&ran, 1)).await, Ok(2));
    env.assert_elapsed(start, env.units(4));
    assert_eq!(b.state(t.now()), State::Closed);
}

/// The attempt timeout is innermost: a stuck attempt is dropped with its bulkhead permit,
/// counts as a breaker failure, and is retried.
pub async fn a_stuck_attempt_times_out_inside_the_bulkhead<T: Timer>(env: Env<T>) {
    let t = &env.timer;
    let b = breaker(1, env.units(60));
    let bulkhead = Bulkhead::new(1);
    let p = Pipeline::builder()
        .attempt_timeout(env.units(2))
        .breaker(&b)
        .bulkhead(&bulkhead)
        .build()
        .unwrap();
    let start = t.now();
    let err = p
        .call(t, || async {
            assert_eq!(bulkhead.metrics().in_flight, 1);
            pending::<Result<(), u8>>().await
        })
        .await
        .unwrap_err();
    assert_eq!(err, PipelineError::AttemptTimeout(env.units(2)));
    env.assert_elapsed(start, env.units(2));
    assert_eq!(bulkhead.metrics().in_flight, 0);
    assert_eq!(b.state(t.now()), State::Open, "the timeout was a failure");
}

/// The total timeout bounds the retries: no backoff sleep past it is started, and a stuck
/// attempt is cut at it.
pub async fn the_total_timeout_bounds_the_retries<T: Timer>(env: Env<T>) {
    let t = &env.timer;
    // Half a delay between the last attempt and the deadline, and between the deadline and
    // the sleep it refuses: a real clock's late wake-ups under load decide nothing.
    let p = Pipeline::builder()
        .total_timeout(env.units(25))
        .retry(policy(10, env.units(10)))
        .build()
        .unwrap();
    let ran = AtomicU32::new(0);
    let start = t.now();
    let err = p.call(t, || flaky(&ran, 100)).await.unwrap_err();
    let PipelineError::RetriesExhausted(r) = &err else {
        panic!("{err:?}")
    };
    // Attempts at 0, 10 and 20 units; a sleep to 30 would pass the deadline.
    assert_eq!((r.attempts(), r.reason()), (3, GiveUpReason::Deadline));
    env.assert_elapsed(start, env.units(20));

    let start = t.now();
    let stuck = p.call(t, pending::<Result<(), u8>>).await;
    assert_eq!(stuck, Err(PipelineError::Timeout(env.units(25))));
    env.assert_elapsed(start, env.units(25));
}

/// The limiter inside retry charges each attempt: with one cell per unit, the retry waits
/// for its cell.
pub async fn the_limiter_charges_each_attempt<T: Timer>(env: Env<T>) {
    let t = &env.timer;
    let limiter = RateLimiter::builder(1, env.units(3)).build().unwrap();
    let p = Pipeline::builder()
        .retry(policy(2, env.units(1)))
        .limiter(&limiter)
        .build()
        .unwrap();
    let ran = AtomicU32::new(0);
    let start = t.now();
    assert_eq!(p.call(t, || flaky(&ran, 1)).await, Ok(2));
    // 1 unit of backoff, then the wait for the next cell, due at 3.
    env.assert_elapsed(start, env.units(3));
}

/// The alternative order: the bulkhead outermost holds one permit through every retry, so a
/// second call waits for the first call's end, not for its first attempt's.
pub async fn the_outermost_bulkhead_caps_logical_calls<T: Timer>(env: Env<T>) {
    let t = &env.timer;
    let bulkhead = Bulkhead::new(1);
    let p = Pipeline::builder()
        .retry(policy(3, env.units(1)))
        .bulkhead(&bulkhead)
        .bulkhead_outermost()
        .build()
        .unwrap();
    let ran = AtomicU32::new(0);
    let second_at = AtomicU32::new(0);
    let start = t.now();
    let first = p.call(t, || flaky(&ran, 2));
    let second = p.call(t, || async {
        second_at.store(ran.load(Ordering::SeqCst), Ordering::SeqCst);
        Ok::<u32, u8>(0)
    });
    let (a, b) = join(first, second).await;
    assert_eq!((a, b), (Ok(3), Ok(0)));
    assert_eq!(
        second_at.load(Ordering::SeqCst),
        3,
        "after all three attempts"
    );
    env.assert_elapsed(start, env.units(2));
    // Shedding at the door: a full bulkhead refuses the call, which is not retried.
    let shed = Bulkhead::builder(1).reject_when_full().build().unwrap();
    let p = Pipeline::builder()
        .retry(policy(3, env.units(1)))
        .bulkhead(&shed)
        .build()
        .unwrap();
    let _held = shed.try_acquire().unwrap();
    let err = p.call(t, || ready(Ok::<(), u8>(()))).await.unwrap_err();
    assert_eq!(err, PipelineError::BulkheadRejected(Rejected::Full));
}

/// Every cross-stage rule is a `ConfigError` naming the field.
pub async fn every_build_rule_is_rejected<T: Timer>(env: Env<T>) {
    let window: CircuitBreaker<4> = CircuitBreaker::builder()
        .time_window(env.units(3), 3, 5)
        .build()
        .unwrap();
    let timed = RetryPolicy::builder()
        .attempt_timeout(env.units(1))
        .build()
        .unwrap();
    let field = |b: steadfast::pipeline::PipelineBuilder<'_>| b.build().unwrap_err().field();
    let total = Pipeline::builder().total_timeout(env.units(2));
    assert_eq!(
        field(total.attempt_timeout(env.units(3))),
        "attempt_timeout"
    );
    let with_window = Pipeline::builder().breaker(&window);
    assert_eq!(field(with_window.attempt_timeout(env.units(2))), "breaker");
    assert_eq!(field(Pipeline::builder().retry(timed)), "retry");
    assert_eq!(field(total.retry(policy(3, env.units(2)))), "retry");
    assert_eq!(
        field(Pipeline::builder().bulkhead_outermost()),
        "bulkhead_outermost"
    );
    // At the limits, accepted.
    total.attempt_timeout(env.units(2)).build().unwrap();
    with_window.attempt_timeout(env.unit).build().unwrap();
}

/// The fallback, outermost: a value for a chosen failure, a future made from the error for
/// another; other failures and values pass through.
pub async fn the_fallback_serves_chosen_failures<T: Timer>(env: Env<T>) {
    let t = &env.timer;
    let p = Pipeline::builder()
        .total_timeout(env.units(1))
        .retry(policy(3, env.unit / 2))
        .build()
        .unwrap();
    let start = t.now();
    let cached = p
        .call(t, pending::<Result<u32, u8>>)
        .fallback_value(|e| matches!(e, PipelineError::Timeout(_)), 7)
        .await;
    assert_eq!(cached, Ok(7));
    env.assert_elapsed(start, env.units(1));
    let passed = p
        .call(t, || ready(Err::<u32, u8>(4)))
        .retry_when(|_| false)
        .fallback_value(|e| matches!(e, PipelineError::Timeout(_)), 7)
        .await;
    assert_eq!(passed, Err(PipelineError::Failed(4)));
    let made = p
        .call(t, || ready(Err::<u32, u8>(4)))
        .retry_when(|_| false)
        .fallback(
            |_| true,
            |e| async move { Ok(u32::from(*e.error().unwrap()) + 1) },
        )
        .await;
    assert_eq!(made, Ok(5));
}

/// Hedging in the retry stage's place: a stuck first attempt gets a hedge after the delay on
/// the runtime's clock, each attempt through the breaker and the bulkhead; the winner's
/// result returns with the loser already dropped, its permits given back unrecorded.
pub async fn a_hedge_takes_the_retrys_place<T: Timer>(env: Env<T>) {
    let t = &env.timer;
    let b: CircuitBreaker<4> = CircuitBreaker::builder()
        .count_window(10, 5)
        .build()
        .unwrap();
    let bulkhead = Bulkhead::new(3);
    let p = Pipeline::builder()
        .total_timeout(env.units(10))
        .breaker(&b)
        .bulkhead(&bulkhead)
        .build()
        .unwrap();
    let policy = HedgePolicy::builder()
        .max_attempts(3)
        .delay(env.units(2))
        .build()
        .unwrap();
    let started = AtomicU32::new(0);
    let start = t.now();
    let op = || async {
        let n = started.fetch_add(1, Ordering::SeqCst) + 1;
        if n == 1 {
            pending::<()>().await;
        }
        assert_eq!(
            bulkhead.metrics().in_flight,
            2,
            "both attempts hold a permit"
        );
        Ok::<u32, u8>(n)
    };
    assert_eq!(p.call_hedged(t, &policy, op).await, Ok(2));
    env.assert_elapsed(start, env.units(2));
    assert_eq!(bulkhead.metrics().in_flight, 0);
    assert_eq!(b.metrics(t.now()).calls, 1, "only the winner is recorded");
    assert_eq!(started.load(Ordering::SeqCst), 2);
}

/// Every pipeline scenario.
#[macro_export]
macro_rules! pipeline_scenarios {
    (list $callback:ident ! ($($args:tt)*)) => {
        $crate::pipeline_scenarios!(@names $callback ($($args)*));
    };
    ($run:path) => {
        $crate::pipeline_scenarios!(@names each_test ($run;));
    };
    (@names $callback:ident ($($args:tt)*)) => {
        $crate::__conformance_dispatch!($callback ($($args)*) pipeline;
            every_stage_in_one_call,
            an_open_circuit_cuts_the_retry_short,
            an_open_circuit_is_waited_out_when_it_fits_the_deadline,
            a_stuck_attempt_times_out_inside_the_bulkhead,
            the_total_timeout_bounds_the_retries,
            the_limiter_charges_each_attempt,
            the_outermost_bulkhead_caps_logical_calls,
            every_build_rule_is_rejected,
            the_fallback_serves_chosen_failures,
            a_hedge_takes_the_retrys_place,
        );
    };
}
