//! The `Timer` contract: what every implementation of the clock seam promises, checked the
//! same way on every runtime. A new timer runs it with one [`timer_contract!`](crate::timer_contract) call.

use core::future::{Future, pending, poll_fn};
use core::pin::{Pin, pin};
use core::task::Poll;
use core::time::Duration;

use steadfast::timeout::{TimeoutExt, timeout_at};
use steadfast::{Instant, Timer};

use crate::{Env, yield_now};

/// About 400 years: past what some clocks represent, short of `Instant::MAX`.
const CENTURIES: Duration = Duration::from_secs(400 * 365 * 86_400);

/// Polls `future` once, with the context of the task running the scenario.
pub async fn poll_once<F: Future>(future: Pin<&mut F>) -> Poll<F::Output> {
    let mut future = future;
    poll_fn(|cx| Poll::Ready(future.as_mut().poll(cx))).await
}

/// A deadline that has passed, or is now, is ready on the first poll: a zero sleep, a sleep
/// until `now()`, until the origin, and a zero timeout around a future that is not ready.
pub async fn passed_deadline_is_ready_on_first_poll<T: Timer>(env: Env<T>) {
    let t = &env.timer;
    // Many times, between short sleeps: a clock that rounds deadlines up shows only at some
    // moments of its tick.
    for _ in 0..50 {
        assert!(
            poll_once(pin!(t.sleep(Duration::ZERO))).await.is_ready(),
            "sleep(ZERO) was pending on its first poll"
        );
        assert!(
            poll_once(pin!(t.sleep_until(t.now()))).await.is_ready(),
            "sleep_until(now) was pending on its first poll"
        );
        t.sleep(env.units(1) / 7).await;
    }
    assert!(
        poll_once(pin!(t.sleep_until(Instant::ZERO)))
            .await
            .is_ready(),
        "sleep_until(origin) was pending on its first poll"
    );
    // A deadline that came while nobody was looking.
    let deadline = t.now() + env.units(1);
    t.sleep(env.units(2)).await;
    assert!(
        poll_once(pin!(t.sleep_until(deadline))).await.is_ready(),
        "a deadline one unit in the past was pending on its first poll"
    );
    match poll_once(pin!(pending::<()>().timeout(t, Duration::ZERO))).await {
        Poll::Ready(Err(_)) => {}
        other => panic!("a zero timeout did not expire on its first poll: {other:?}"),
    }
    match poll_once(pin!(timeout_at(t, t.now(), pending::<()>()))).await {
        Poll::Ready(Err(_)) => {}
        other => panic!("a timeout at now did not expire on its first poll: {other:?}"),
    }
}

/// A sleep never ends before its deadline, by `sleep` or by `sleep_until`.
pub async fn sleep_never_ends_early<T: Timer>(env: Env<T>) {
    let t = &env.timer;
    let start = t.now();
    t.sleep(env.units(1)).await;
    assert!(t.now() - start >= env.units(1), "sleep ended early");
    let deadline = t.now() + env.units(1);
    t.sleep_until(deadline).await;
    assert!(t.now() >= deadline, "sleep_until ended early");
    env.assert_elapsed(start, env.units(2));
}

/// `now()` never goes backwards, across reads, yields and sleeps.
pub async fn now_is_monotonic<T: Timer>(env: Env<T>) {
    let t = &env.timer;
    let mut last = t.now();
    for i in 0..2_000u32 {
        if i % 100 == 0 {
            yield_now().await;
        }
        if i % 500 == 0 {
            t.sleep(env.units(1) / 4).await;
        }
        let now = t.now();
        assert!(now >= last, "the clock went back from {last:?} to {now:?}");
        last = now;
    }
}

/// Deadlines the runtime cannot represent ([`Instant::MAX`], one short of it, centuries
/// ahead, `sleep(Duration::MAX)`) make sleeps that can be created, polled and dropped without
/// a panic, and that do not end; the timer works normally afterwards.
pub async fn far_deadlines_do_not_panic<T: Timer>(env: Env<T>) {
    let t = &env.timer;
    let far = [
        Instant::MAX,
        Instant::from_nanos(u64::MAX - 1),
        t.now() + CENTURIES,
    ];
    for deadline in far {
        let mut sleep = pin!(t.sleep_until(deadline));
        assert!(
            poll_once(sleep.as_mut()).await.is_pending(),
            "a sleep until {deadline:?} ended at once"
        );
        yield_now().await;
        assert!(poll_once(sleep.as_mut()).await.is_pending());
    }
    assert!(poll_once(pin!(t.sleep(Duration::MAX))).await.is_pending());
    assert!(poll_once(pin!(t.sleep(CENTURIES))).await.is_pending());
    let start = t.now();
    assert!(
        t.sleep_until(Instant::MAX)
            .timeout(t, env.units(1))
            .await
            .is_err()
    );
    env.assert_elapsed(start, env.units(1));
}

/// Expands to one `#[test]` per clause of the [`Timer`] contract, each calling
/// `$run(|env| clause(env))`.
///
/// `timer_contract!(list m!(args;))` instead expands to `m!(args; timer; name, name, ...)`,
/// for runners without a test harness (firmware).
#[macro_export]
macro_rules! timer_contract {
    (list $callback:ident ! ($($args:tt)*)) => {
        $crate::timer_contract!(@names $callback ($($args)*));
    };
    ($run:path) => {
        $crate::timer_contract!(@names each_test ($run;));
    };
    (@names $callback:ident ($($args:tt)*)) => {
        $crate::__conformance_dispatch!($callback ($($args)*) timer;
            passed_deadline_is_ready_on_first_poll,
            sleep_never_ends_early,
            now_is_monotonic,
            far_deadlines_do_not_panic,
        );
    };
}
