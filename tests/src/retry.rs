//! Retry scenarios.

use core::future::pending;
use core::pin::pin;
use core::time::Duration;
use futures_util::future::{Either, select};
use portable_atomic::{AtomicU32, Ordering};

use steadfast::Timer;
use steadfast::retry::{GiveUpReason, MakeAttempt, RetryBudget, RetryPolicy};
use steadfast::timeout::TimeoutExt;

use crate::{Env, yield_now};

/// The errors of the scenarios' operations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// Worth another attempt.
    Transient,
    /// Never worth another attempt.
    Permanent,
}

fn count(calls: &AtomicU32) -> u32 {
    calls.fetch_add(1, Ordering::SeqCst) + 1
}

/// Fails three times, then succeeds: four calls, and the success comes exactly after the
/// three exponential delays (1 + 2 + 4 units).
pub async fn fails_three_times_then_succeeds<T: Timer>(env: Env<T>) {
    let t = &env.timer;
    let policy = RetryPolicy::builder()
        .max_attempts(5)
        .exponential(env.units(1), 2.0)
        .max_delay(env.units(60))
        .build()
        .expect("a valid policy");
    let calls = AtomicU32::new(0);
    let start = t.now();
    let result = (|| {
        let n = count(&calls);
        async move {
            if n <= 3 {
                Err(Failure::Transient)
            } else {
                Ok(n)
            }
        }
    })
    .retry(&policy, t)
    .await;
    assert_eq!(result, Ok(4));
    assert_eq!(calls.load(Ordering::SeqCst), 4);
    env.assert_elapsed(start, env.units(7));
}

/// An error the predicate calls permanent ends the call at once: one call, no sleep.
pub async fn permanent_error_stops_at_once<T: Timer>(env: Env<T>) {
    let t = &env.timer;
    let policy = RetryPolicy::builder()
        .max_attempts(5)
        .constant(env.units(1))
        .build()
        .expect("a valid policy");
    let calls = AtomicU32::new(0);
    let start = t.now();
    let err = (|| {
        count(&calls);
        async { Err::<(), _>(Failure::Permanent) }
    })
    .retry(&policy, t)
    .when(|e| *e == Failure::Transient)
    .await
    .expect_err("a permanent error is returned");
    assert_eq!(err.reason(), GiveUpReason::Permanent);
    assert_eq!(err.attempts(), 1);
    assert_eq!(err.error(), Some(&Failure::Permanent));
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    env.assert_elapsed(start, Duration::ZERO);
}

/// When all attempts fail, the last error comes back with the attempt count.
pub async fn attempts_run_out<T: Timer>(env: Env<T>) {
    let t = &env.timer;
    let policy = RetryPolicy::builder()
        .max_attempts(3)
        .linear(env.units(1), env.units(1))
        .build()
        .expect("a valid policy");
    let calls = AtomicU32::new(0);
    let start = t.now();
    let err = (|| {
        let n = count(&calls);
        async move { Err::<(), _>(n) }
    })
    .retry(&policy, t)
    .await
    .expect_err("every attempt fails");
    assert_eq!(err.reason(), GiveUpReason::AttemptsExhausted);
    assert_eq!((err.attempts(), err.error()), (3, Some(&3)));
    env.assert_elapsed(start, env.units(1 + 2));
}

/// Dropping the call during a backoff sleep stops it: no attempt starts afterwards.
pub async fn cancellation_during_backoff_stops_attempts<T: Timer>(env: Env<T>) {
    let t = &env.timer;
    let policy = RetryPolicy::builder()
        .max_attempts(10)
        .constant(env.units(5))
        .build()
        .expect("a valid policy");
    let calls = AtomicU32::new(0);
    let start = t.now();
    let cut = (|| {
        count(&calls);
        async { Err::<(), _>(Failure::Transient) }
    })
    .retry(&policy, t)
    .timeout(t, env.units(2))
    .await;
    assert!(cut.is_err(), "the call was cut during its first backoff");
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    t.sleep(env.units(10)).await;
    assert_eq!(
        calls.load(Ordering::SeqCst),
        1,
        "an attempt ran after cancellation"
    );
    env.assert_elapsed(start, env.units(12));
}

/// No sleep is started that would end past the deadline: with 2-unit delays and a 5-unit
/// deadline, attempts run at 0, 2 and 4 units and the call gives up at 4.
pub async fn deadline_is_respected<T: Timer>(env: Env<T>) {
    let t = &env.timer;
    let policy = RetryPolicy::builder()
        .max_attempts(100)
        .constant(env.units(2))
        .max_elapsed(env.units(5))
        .build()
        .expect("a valid policy");
    let calls = AtomicU32::new(0);
    let start = t.now();
    let err = (|| {
        count(&calls);
        async { Err::<(), _>(Failure::Transient) }
    })
    .retry(&policy, t)
    .await
    .expect_err("the deadline ends the call");
    assert_eq!(err.reason(), GiveUpReason::Deadline);
    assert_eq!(err.attempts(), 3);
    assert_eq!(calls.load(Ordering::SeqCst), 3);
    env.assert_elapsed(start, env.units(4));
}

/// A hung attempt is cut by the per-attempt timeout and retried, whatever the error type
/// (here one that knows nothing of timeouts): the notify hook sees the timeout, the error
/// predicate is not asked about it.
pub async fn attempt_timeout_cuts_a_hung_attempt<T: Timer>(env: Env<T>) {
    let t = &env.timer;
    let policy = RetryPolicy::builder()
        .max_attempts(3)
        .constant(env.units(1))
        .attempt_timeout(env.units(3))
        .build()
        .expect("a valid policy");
    let calls = AtomicU32::new(0);
    let timeouts = AtomicU32::new(0);
    let start = t.now();
    let result = (|| {
        let n = count(&calls);
        async move {
            if n == 1 {
                pending::<()>().await;
            }
            Ok::<_, Failure>(n)
        }
    })
    .retry(&policy, t)
    .when(|_| panic!("the predicate was asked about a timeout"))
    .notify(|notice| {
        if notice.timeout().is_some() {
            timeouts.fetch_add(1, Ordering::SeqCst);
        }
    })
    .await;
    assert_eq!(result, Ok(2));
    assert_eq!(timeouts.load(Ordering::SeqCst), 1);
    env.assert_elapsed(start, env.units(3 + 1));

    // Every attempt hangs: the error says the last one timed out.
    let start = t.now();
    let err = (|| pending::<Result<(), Failure>>())
        .retry(&policy, t)
        .await
        .expect_err("every attempt times out");
    assert_eq!(err.error(), None);
    assert_eq!(err.timeout(), Some(env.units(3)));
    assert_eq!(err.attempts(), 3);
    env.assert_elapsed(start, env.units(3 + 1 + 3 + 1 + 3));
}

/// A deadline that has passed at the first poll allows no attempt at all.
pub async fn a_passed_deadline_makes_no_attempt<T: Timer>(env: Env<T>) {
    let t = &env.timer;
    let policy = RetryPolicy::builder()
        .max_attempts(3)
        .constant(env.units(1))
        .build()
        .expect("a valid policy");
    let calls = AtomicU32::new(0);
    t.sleep(env.units(1)).await;
    let past = steadfast::Instant::from_nanos(t.now().as_nanos().saturating_sub(1));
    let err = (|| {
        count(&calls);
        async { Ok::<_, Failure>(()) }
    })
    .retry(&policy, t)
    .deadline(past)
    .await
    .expect_err("no attempt after the deadline");
    assert_eq!((err.attempts(), err.reason()), (0, GiveUpReason::Deadline));
    assert_eq!(calls.load(Ordering::SeqCst), 0);
}

/// A delay suggested by the error replaces the backoff's, and the notify hook sees it.
pub async fn retry_after_and_notify<T: Timer>(env: Env<T>) {
    let t = &env.timer;
    let policy = RetryPolicy::builder()
        .max_attempts(5)
        .constant(env.units(1))
        .build()
        .expect("a valid policy");
    let calls = AtomicU32::new(0);
    let notified = AtomicU32::new(0);
    let hinted = env.units(3);
    let start = t.now();
    let result = (|| {
        let n = count(&calls);
        async move { if n <= 2 { Err(n) } else { Ok(n) } }
    })
    .retry(&policy, t)
    .retry_after(|e| (*e == 1).then_some(hinted))
    .notify(|notice| {
        notified.fetch_add(1, Ordering::SeqCst);
        let expected = if notice.attempt() == 1 {
            hinted
        } else {
            env.units(1)
        };
        assert_eq!(notice.delay(), expected);
        assert_eq!(notice.error(), Some(&notice.attempt()));
    })
    .await;
    assert_eq!(result, Ok(3));
    assert_eq!(notified.load(Ordering::SeqCst), 2);
    env.assert_elapsed(start, env.units(3 + 1));
}

/// A shared budget stops retries once spent: the caller gets its own error back, with the
/// reason.
pub async fn budget_stops_retries<T: Timer>(env: Env<T>) {
    let t = &env.timer;
    let budget = RetryBudget::builder()
        .percent(0)
        .min_retries(1)
        .window(env.units(100))
        .build()
        .expect("a valid budget");
    let policy = RetryPolicy::builder()
        .max_attempts(5)
        .constant(env.units(1))
        .build()
        .expect("a valid policy");
    let calls = AtomicU32::new(0);
    let start = t.now();
    let op = || {
        count(&calls);
        async { Err::<(), _>(Failure::Transient) }
    };
    let err = op.retry(&policy, t).budget(&budget).await.unwrap_err();
    assert_eq!(err.reason(), GiveUpReason::Budget);
    assert_eq!(
        (err.attempts(), err.error()),
        (2, Some(&Failure::Transient))
    );
    env.assert_elapsed(start, env.units(1));
    // The budget is shared: the next call gets no retry.
    let err = op.retry(&policy, t).budget(&budget).await.unwrap_err();
    assert_eq!((err.attempts(), err.reason()), (1, GiveUpReason::Budget));
    assert_eq!(calls.load(Ordering::SeqCst), 3);
    env.assert_elapsed(start, env.units(1));
}

/// A retry with zero delays lets the other futures of its task run between attempts: raced
/// against a future that needs three polls, it has made a handful of attempts (out of 100,000
/// allowed) when that future wins, and dropping it then stops the attempts.
pub async fn zero_delay_retry_lets_others_run<T: Timer>(env: Env<T>) {
    let t = &env.timer;
    let policy = RetryPolicy::builder()
        .max_attempts(100_000)
        .constant(Duration::ZERO)
        .build()
        .expect("a valid policy");
    let calls = AtomicU32::new(0);
    let start = t.now();
    let retried = (|| {
        count(&calls);
        async { Err::<(), _>(Failure::Transient) }
    })
    .retry(&policy, t);
    let other = async {
        for _ in 0..3 {
            yield_now().await;
        }
    };
    match select(pin!(retried), pin!(other)).await {
        Either::Left((result, _)) => panic!(
            "the retry ran {} attempts without letting another future run: {result:?}",
            calls.load(Ordering::SeqCst)
        ),
        Either::Right(((), _)) => {}
    }
    let made = calls.load(Ordering::SeqCst);
    assert!((1..=4).contains(&made), "{made} attempts in three polls");
    env.assert_elapsed(start, Duration::ZERO);
}

/// Expands to one `#[test]` per retry scenario, each calling `$run(|env| scenario(env))`.
///
/// `retry_scenarios!(list m!(args;))` instead expands to `m!(args; retry; name, name, ...)`,
/// for runners without a test harness (firmware).
#[macro_export]
macro_rules! retry_scenarios {
    (list $callback:ident ! ($($args:tt)*)) => {
        $crate::retry_scenarios!(@names $callback ($($args)*));
    };
    ($run:path) => {
        $crate::retry_scenarios!(@names each_test ($run;));
    };
    (@names $callback:ident ($($args:tt)*)) => {
        $crate::__conformance_dispatch!($callback ($($args)*) retry;
            fails_three_times_then_succeeds,
            permanent_error_stops_at_once,
            attempts_run_out,
            cancellation_during_backoff_stops_attempts,
            deadline_is_respected,
            attempt_timeout_cuts_a_hung_attempt,
            a_passed_deadline_makes_no_attempt,
            retry_after_and_notify,
            budget_stops_retries,
            zero_delay_retry_lets_others_run,
        );
    };
}
