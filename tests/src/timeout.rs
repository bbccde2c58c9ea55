//! Timeout scenarios.

use core::future::{pending, ready};
use core::pin::pin;
use core::time::Duration;
use portable_atomic::{AtomicBool, Ordering};

use futures_util::future::join;
use steadfast::timeout::{TimeoutExt, timeout_at};
use steadfast::{Instant, Timer};

use crate::{Env, SetOnDrop};

/// A future that never finishes times out exactly at the deadline, with the duration in the
/// error.
pub async fn fires_at_the_deadline<T: Timer>(env: Env<T>) {
    let t = &env.timer;
    let start = t.now();
    let err = pending::<()>()
        .timeout(t, env.units(5))
        .await
        .expect_err("a future that never finishes must time out");
    assert_eq!(err.duration(), Some(env.units(5)));
    env.assert_elapsed(start, env.units(5));
}

/// A future that finishes first wins and its output is returned; a ready future wins at once.
pub async fn inner_wins_when_ready_first<T: Timer>(env: Env<T>) {
    let t = &env.timer;
    let start = t.now();
    assert_eq!(ready(7).timeout(t, env.units(5)).await, Ok(7));
    env.assert_elapsed(start, Duration::ZERO);
    let slow = async {
        t.sleep(env.units(2)).await;
        8
    };
    assert_eq!(slow.timeout(t, env.units(5)).await, Ok(8));
    env.assert_elapsed(start, env.units(2));
}

/// On expiry the inner future is dropped at once, before the timeout itself is, and not a
/// moment earlier.
pub async fn inner_is_dropped_on_expiry<T: Timer>(env: Env<T>) {
    let t = &env.timer;
    let dropped = AtomicBool::new(false);
    let work = async {
        let _guard = SetOnDrop(&dropped);
        pending::<()>().await;
    };
    let mut timed = pin!(work.timeout(t, env.units(3)));
    let watcher = async {
        t.sleep(env.units(2)).await;
        dropped.load(Ordering::SeqCst)
    };
    let (result, dropped_early) = join(timed.as_mut(), watcher).await;
    assert!(result.is_err());
    assert!(
        !dropped_early,
        "the inner future was dropped before the deadline"
    );
    // `timed` is still alive here: the drop happened at expiry.
    assert!(
        dropped.load(Ordering::SeqCst),
        "the inner future outlived its timeout"
    );
}

/// Nested timeouts: the shorter one fires, whichever it is, at its own deadline.
pub async fn nested_timeouts<T: Timer>(env: Env<T>) {
    let t = &env.timer;
    let start = t.now();
    let r = pending::<()>()
        .timeout(t, env.units(3))
        .timeout(t, env.units(10))
        .await;
    match r {
        Ok(Err(inner)) => assert_eq!(inner.duration(), Some(env.units(3))),
        other => panic!("the inner, shorter timeout should fire: {other:?}"),
    }
    env.assert_elapsed(start, env.units(3));

    let start = t.now();
    let r = pending::<()>()
        .timeout(t, env.units(10))
        .timeout(t, env.units(3))
        .await;
    match r {
        Err(outer) => assert_eq!(outer.duration(), Some(env.units(3))),
        other => panic!("the outer, shorter timeout should fire: {other:?}"),
    }
    env.assert_elapsed(start, env.units(3));
}

/// A zero duration, or a deadline already passed, polls the future once: ready wins, anything
/// else times out on that poll.
pub async fn zero_duration_and_past_deadlines<T: Timer>(env: Env<T>) {
    let t = &env.timer;
    let start = t.now();
    assert_eq!(ready(1).timeout(t, Duration::ZERO).await, Ok(1));
    assert!(pending::<()>().timeout(t, Duration::ZERO).await.is_err());
    assert!(
        t.sleep(env.units(1))
            .timeout(t, Duration::ZERO)
            .await
            .is_err()
    );
    let err = timeout_at(t, t.now(), pending::<()>()).await.unwrap_err();
    assert_eq!(err.duration(), None);
    assert_eq!(timeout_at(t, Instant::ZERO, ready(2)).await, Ok(2));
    env.assert_elapsed(start, Duration::ZERO);
}

/// Durations and deadlines past the clock's range saturate to "never" instead of panicking.
pub async fn huge_durations_saturate<T: Timer>(env: Env<T>) {
    let t = &env.timer;
    assert_eq!(t.now() + Duration::MAX, Instant::MAX);
    let start = t.now();
    assert_eq!(ready(1).timeout(t, Duration::MAX).await, Ok(1));
    let slow = async {
        t.sleep(env.units(2)).await;
        2
    };
    assert_eq!(slow.timeout(t, Duration::MAX).await, Ok(2));
    env.assert_elapsed(start, env.units(2));
    assert_eq!(timeout_at(t, Instant::MAX, ready(3)).await, Ok(3));
    // A sleep that never ends can be registered and then dropped by a shorter timeout.
    let start = t.now();
    assert!(
        t.sleep(Duration::MAX)
            .timeout(t, env.units(1))
            .await
            .is_err()
    );
    assert!(
        t.sleep_until(Instant::MAX)
            .timeout(t, env.units(1))
            .await
            .is_err()
    );
    env.assert_elapsed(start, env.units(2));
}

/// The clock starts at the first poll, not when the timeout is built.
pub async fn clock_starts_at_first_poll<T: Timer>(env: Env<T>) {
    let t = &env.timer;
    let timed = pending::<()>().timeout(t, env.units(5));
    t.sleep(env.units(3)).await;
    let start = t.now();
    assert!(timed.await.is_err());
    env.assert_elapsed(start, env.units(5));
}

/// The context message travels with the error.
pub async fn context_travels_with_the_error<T: Timer>(env: Env<T>) {
    let t = &env.timer;
    let err = pending::<()>()
        .timeout(t, env.units(1))
        .context("reading sensor 7")
        .await
        .unwrap_err();
    assert_eq!(err.context(), Some("reading sensor 7"));
    assert_eq!(err.duration(), Some(env.units(1)));
}

/// Many timeouts in a row: each fires or not on its own, and nothing accumulates.
pub async fn timeouts_in_a_loop<T: Timer>(env: Env<T>) {
    let t = &env.timer;
    let start = t.now();
    for i in 0..20u32 {
        let work = async {
            t.sleep(env.units(1)).await;
            i
        };
        if i % 2 == 0 {
            assert_eq!(work.timeout(t, env.units(2)).await, Ok(i));
        } else {
            assert!(pending::<()>().timeout(t, env.units(1)).await.is_err());
        }
    }
    env.assert_elapsed(start, env.units(20));
}

/// Expands to one `#[test]` per timeout scenario, each calling `$run(|env| scenario(env))`.
///
/// `timeout_scenarios!(list m!(args;))` instead expands to
/// `m!(args; timeout; name, name, ...)`, for runners without a test harness (firmware).
#[macro_export]
macro_rules! timeout_scenarios {
    (list $callback:ident ! ($($args:tt)*)) => {
        $crate::timeout_scenarios!(@names $callback ($($args)*));
    };
    ($run:path) => {
        $crate::timeout_scenarios!(@names each_test ($run;));
    };
    (@names $callback:ident ($($args:tt)*)) => {
        $crate::__conformance_dispatch!($callback ($($args)*) timeout;
            fires_at_the_deadline,
            inner_wins_when_ready_first,
            inner_is_dropped_on_expiry,
            nested_timeouts,
            zero_duration_and_past_deadlines,
            huge_durations_saturate,
            clock_starts_at_first_poll,
            context_travels_with_the_error,
            timeouts_in_a_loop,
        );
    };
}
