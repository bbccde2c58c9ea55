//! Rate limiter scenarios: a burst then exact waits on the runtime's clock, costs, bounded
//! waits refused at once, FIFO among waiters, a cancelled head handing its turn on. No std,
//! no heap.

use core::future::{Future, poll_fn};
use core::pin::pin;
use core::task::Poll;

use futures_util::future::join3;
use portable_atomic::{AtomicU32, Ordering};
use steadfast::Timer;
use steadfast::limiter::{KeyedRateLimiter, LimitError, RateLimiter};

use crate::{Clock, Env};

/// One cell per unit, `burst` at once.
fn per_unit<T>(env: &Env<T>, burst: u32) -> RateLimiter {
    RateLimiter::builder(1, env.unit)
        .burst(burst)
        .build()
        .unwrap()
}

/// An idle limiter grants its burst at once; the next cell comes one interval after, and a
/// waiter gets it then, on the runtime's clock.
pub async fn a_burst_then_exact_waits<T: Timer>(env: Env<T>) {
    let t = &env.timer;
    let l = per_unit(&env, 3);
    let start = t.now();
    for _ in 0..3 {
        l.try_acquire(t.now(), 1).unwrap();
    }
    let wait = l
        .try_acquire(t.now(), 1)
        .unwrap_err()
        .retry_after()
        .unwrap();
    assert!(wait <= env.unit && wait > env.unit / 2, "wait {wait:?}");
    l.acquire(t, 1).await.unwrap();
    env.assert_elapsed(start, env.units(1));
    l.acquire(t, 1).await.unwrap();
    env.assert_elapsed(start, env.units(2));
}

/// A cost takes that many cells; more than the burst is refused at once.
pub async fn a_cost_takes_that_many_cells<T: Timer>(env: Env<T>) {
    let t = &env.timer;
    let l = per_unit(&env, 4);
    let start = t.now();
    l.acquire(t, 3).await.unwrap();
    env.assert_elapsed(start, env.units(0));
    // One cell is left; three more need two intervals.
    l.acquire(t, 3).await.unwrap();
    env.assert_elapsed(start, env.units(2));
    assert_eq!(
        l.acquire(t, 5).await,
        Err(LimitError::InsufficientCapacity {
            requested: 5,
            burst: 4
        })
    );
    env.assert_elapsed(start, env.units(2));
}

/// A wait predicted over the bound is refused at once, with the prediction; one within it
/// is waited out.
pub async fn a_bounded_wait_fails_fast<T: Timer>(env: Env<T>) {
    let t = &env.timer;
    let l = per_unit(&env, 1);
    let start = t.now();
    l.try_acquire(t.now(), 1).unwrap();
    let err = l.acquire_within(t, 1, env.unit / 2).await.unwrap_err();
    let predicted = err.retry_after().unwrap();
    assert!(predicted <= env.unit && predicted > env.unit / 2);
    env.assert_elapsed(start, env.units(0));
    l.acquire_within(t, 1, env.units(2)).await.unwrap();
    env.assert_elapsed(start, env.units(1));
}

/// Waiters are served in the order they came, one interval apart.
pub async fn waiters_are_served_first_come_first_served<T: Timer>(env: Env<T>) {
    let t = &env.timer;
    let l = per_unit(&env, 1);
    let start = t.now();
    l.try_acquire(t.now(), 1).unwrap();
    let served = AtomicU32::new(0);
    let waiter = || async {
        l.acquire(t, 1).await.unwrap();
        served.fetch_add(1, Ordering::SeqCst)
    };
    let (a, b, c) = join3(waiter(), waiter(), waiter()).await;
    assert_eq!((a, b, c), (0, 1, 2));
    env.assert_elapsed(start, env.units(3));
}

/// A head waiter dropped mid-wait hands its turn to the next at once: the next gets its cell
/// when it would have been due anyway.
pub async fn a_cancelled_head_hands_its_turn_on<T: Timer>(env: Env<T>) {
    let t = &env.timer;
    let l = per_unit(&env, 2);
    let start = t.now();
    l.try_acquire(t.now(), 2).unwrap();
    let mut next = pin!(l.acquire(t, 1));
    {
        let mut head = pin!(l.acquire(t, 2));
        let pending = poll_fn(|cx| Poll::Ready(head.as_mut().poll(cx).is_pending())).await;
        assert!(pending, "the head waits for two cells");
        let pending = poll_fn(|cx| Poll::Ready(next.as_mut().poll(cx).is_pending())).await;
        assert!(pending, "the next waits behind it");
        t.sleep(env.unit / 2).await;
        assert_eq!(l.metrics(t.now()).waiters, 2);
    }
    next.await.unwrap();
    env.assert_elapsed(start, env.units(1));
    assert_eq!(l.metrics(t.now()).waiters, 0);
    if env.clock == Clock::Virtual {
        assert_eq!(l.metrics(t.now()).available, 0);
    }
}

/// A keyed limiter gives each key its own burst and waits; a new key finds no room while
/// every entry's bucket is still spent, and takes the place of one that has refilled.
pub async fn a_keyed_limiter_evicts_only_refilled_keys<T: Timer>(env: Env<T>) {
    let t = &env.timer;
    let l: KeyedRateLimiter<u8, 2> = RateLimiter::builder(1, env.unit)
        .burst(2)
        .build_keyed()
        .unwrap();
    let start = t.now();
    l.try_acquire(&2, t.now(), 1).unwrap();
    l.try_acquire(&1, t.now(), 2).unwrap();
    assert_eq!(l.try_acquire(&3, t.now(), 1), Err(LimitError::TableFull));
    // Key 1 waits an interval for its next cell; by then key 2's bucket is full again.
    l.acquire(1, t, 1).await.unwrap();
    env.assert_elapsed(start, env.units(1));
    l.try_acquire(&3, t.now(), 2).unwrap();
    assert_eq!(l.len(), 2);
    let wait = l.try_acquire(&1, t.now(), 1).unwrap_err().retry_after();
    assert!(wait.is_some_and(|w| w <= env.unit), "{wait:?}");
    assert_eq!(l.metrics(&2, t.now()).available, 2);
}

/// Every rate limiter scenario.
#[macro_export]
macro_rules! limiter_scenarios {
    (list $callback:ident ! ($($args:tt)*)) => {
        $crate::limiter_scenarios!(@names $callback ($($args)*));
    };
    ($run:path) => {
        $crate::limiter_scenarios!(@names each_test ($run;));
    };
    (@names $callback:ident ($($args:tt)*)) => {
        $crate::__conformance_dispatch!($callback ($($args)*) limiter;
            a_burst_then_exact_waits,
            a_cost_takes_that_many_cells,
            a_bounded_wait_fails_fast,
            waiters_are_served_first_come_first_served,
            a_cancelled_head_hands_its_turn_on,
            a_keyed_limiter_evicts_only_refilled_keys,
        );
    };
}
