//! Bulkhead scenarios.

use core::future::{Future, pending, poll_fn};
use core::pin::pin;
use core::task::Poll;
use core::time::Duration;
use portable_atomic::{AtomicBool, AtomicUsize, Ordering};

use futures_util::future::{join, join3, join4};
use steadfast::Timer;
use steadfast::bulkhead::{Bulkhead, Rejected};
use steadfast::timeout::TimeoutExt;

use crate::{Env, SetOnDrop};

/// Polls `future` once, in place, and reports whether it is still pending.
async fn poll_once<F: Future>(future: core::pin::Pin<&mut F>) -> bool {
    let mut future = future;
    poll_fn(|cx| Poll::Ready(future.as_mut().poll(cx).is_pending())).await
}

/// Adds `delta` to `counter` and returns the new count. A load and a store, no
/// read-modify-write (which Cortex-M0 lacks): the callers share one task.
fn add(counter: &AtomicUsize, delta: isize) -> usize {
    let n = counter.load(Ordering::SeqCst).wrapping_add_signed(delta);
    counter.store(n, Ordering::SeqCst);
    n
}

/// Work that sleeps for `d`, counted from its first poll (a sleep made at once would count
/// from when it was made, while the call still waited for a permit).
async fn nap<T: Timer>(t: &T, d: Duration) {
    t.sleep(d).await;
}

/// Five calls through two permits: never more than two at once, admitted in FIFO order, the
/// last finishing after three rounds.
pub async fn limits_in_flight_in_fifo_order<T: Timer>(env: Env<T>) {
    let t = &env.timer;
    let bulkhead = Bulkhead::new(2);
    let running = AtomicUsize::new(0);
    let admitted = AtomicUsize::new(0);
    let two = env.units(2);
    let call = |i: usize| {
        let (running, admitted, bulkhead) = (&running, &admitted, &bulkhead);
        async move {
            bulkhead
                .run(async {
                    let now = add(running, 1);
                    assert!(now <= 2, "{now} calls in flight through 2 permits");
                    let order = add(admitted, 1) - 1;
                    t.sleep(two).await;
                    add(running, -1);
                    order
                })
                .await
                .map(|order| assert_eq!(order, i, "admitted out of FIFO order"))
        }
    };
    let start = t.now();
    let ((a, b), (c, d), e) = join3(join(call(0), call(1)), join(call(2), call(3)), call(4)).await;
    for r in [a, b, c, d, e] {
        r.expect("no call is rejected");
    }
    env.assert_elapsed(start, env.units(6));
    let m = bulkhead.metrics();
    assert_eq!((m.in_flight, m.waiting, m.high_water), (0, 0, 2));
    assert_eq!(m.rejected(), 0);
}

/// A timeout around bulkheaded work frees the permit exactly when it drops the work, not
/// before.
pub async fn permit_lives_as_long_as_the_work<T: Timer>(env: Env<T>) {
    let t = &env.timer;
    let bulkhead = Bulkhead::new(1);
    let dropped = AtomicBool::new(false);
    let work = async {
        let _guard = SetOnDrop(&dropped);
        pending::<()>().await;
    };
    let watcher = async {
        t.sleep(env.units(2)).await;
        let m = bulkhead.metrics();
        assert_eq!(m.in_flight, 1, "the permit is held while the work runs");
        assert!(!dropped.load(Ordering::SeqCst));
        assert_eq!(bulkhead.try_acquire().unwrap_err(), Rejected::Full);
    };
    let start = t.now();
    let (result, ()) = join(bulkhead.run(work).timeout(t, env.units(3)), watcher).await;
    assert!(result.is_err(), "the work timed out");
    env.assert_elapsed(start, env.units(3));
    assert!(dropped.load(Ordering::SeqCst), "the work was dropped");
    assert_eq!(bulkhead.metrics().in_flight, 0);
    drop(bulkhead.try_acquire().expect("the permit came back"));
}

/// A bounded wait turns a caller away once it waited its time, at exactly that time; one
/// served sooner runs. The same bulkhead serves plain and bounded waits.
pub async fn max_wait_turns_late_callers_away<T: Timer>(env: Env<T>) {
    let t = &env.timer;
    let bulkhead = Bulkhead::new(1);
    let start = t.now();
    let holder = bulkhead.run(nap(t, env.units(2)));
    let patient = async {
        let r = bulkhead
            .run_within(t, env.units(3), nap(t, env.units(5)))
            .await;
        env.assert_elapsed(start, env.units(7));
        r
    };
    let late = async {
        let r = bulkhead.run_within(t, env.units(3), async {}).await;
        env.assert_elapsed(start, env.units(3));
        r
    };
    let (h, p, l) = join3(holder, patient, late).await;
    assert_eq!((h, p), (Ok(()), Ok(())));
    assert_eq!(l, Err(Rejected::WaitedTooLong));
    assert_eq!(bulkhead.metrics().rejected_waited_too_long, 1);
}

/// Fallible work through `call`: its value, its own error and a rejection come back as one
/// `Result`, so `?` takes all three in one step.
pub async fn call_gives_one_error<T: Timer>(env: Env<T>) {
    use steadfast::bulkhead::BulkheadError;
    let t = &env.timer;
    let bulkhead = Bulkhead::builder(1)
        .reject_when_full()
        .build()
        .expect("valid settings");
    async fn doubled<T: Timer>(
        b: &Bulkhead,
        t: &T,
        d: Duration,
        n: Result<u32, &'static str>,
    ) -> Result<u32, BulkheadError<&'static str>> {
        let n = b
            .call(async move {
                t.sleep(d).await;
                n
            })
            .await?;
        Ok(n * 2)
    }
    let unit = env.units(1);
    let (a, b) = join(
        doubled(&bulkhead, t, unit, Ok(21)),
        doubled(&bulkhead, t, unit, Ok(1)),
    )
    .await;
    assert_eq!(
        (a, b),
        (Ok(42), Err(BulkheadError::Rejected(Rejected::Full)))
    );
    let failed = doubled(&bulkhead, t, unit, Err("upstream down")).await;
    assert_eq!(failed, Err(BulkheadError::Failed("upstream down")));
    let waited = join(
        bulkhead.call(async {
            t.sleep(env.units(2)).await;
            Ok::<_, ()>(())
        }),
        async {
            // A bounded wait on a bulkhead that sheds: turned away at once, not after a wait.
            let r = bulkhead
                .call_within(t, env.units(1), async { Ok::<_, ()>(()) })
                .await;
            assert_eq!(r, Err(BulkheadError::Rejected(Rejected::Full)));
        },
    )
    .await;
    assert_eq!(waited.0, Ok(()));
    let m = bulkhead.metrics();
    assert_eq!((m.rejected_full, m.rejected(), m.in_flight), (2, 2, 0));
}

/// `reject_when_full` sheds load at once; `max_waiting` caps the queue.
pub async fn sheds_load_when_full_or_queue_full<T: Timer>(env: Env<T>) {
    let t = &env.timer;
    let shed = Bulkhead::builder(1)
        .reject_when_full()
        .build()
        .expect("valid settings");
    let start = t.now();
    let (a, b) = join(shed.run(nap(t, env.units(1))), shed.run(async {})).await;
    assert_eq!((a, b), (Ok(()), Err(Rejected::Full)));
    env.assert_elapsed(start, env.units(1));

    let capped = Bulkhead::builder(1)
        .max_waiting(1)
        .build()
        .expect("valid settings");
    let start = t.now();
    let (a, b, c, d) = join4(
        capped.run(nap(t, env.units(2))),
        capped.run(nap(t, env.units(2))),
        capped.run(async {}),
        async {
            // The second call left the queue at 2: there is room again.
            t.sleep(env.units(3)).await;
            capped.run(async {}).await
        },
    )
    .await;
    assert_eq!((a, b), (Ok(()), Ok(())));
    assert_eq!((c, d), (Err(Rejected::QueueFull), Ok(())));
    env.assert_elapsed(start, env.units(4));
    let m = capped.metrics();
    assert_eq!((m.rejected_queue_full, m.rejected_full), (1, 0));
}

/// `close` wakes every waiter with `Closed` and turns newcomers away; work already admitted
/// finishes.
pub async fn close_wakes_waiters<T: Timer>(env: Env<T>) {
    let t = &env.timer;
    let bulkhead = Bulkhead::new(1);
    let start = t.now();
    let (admitted, w1, w2, ()) = join4(
        bulkhead.run(nap(t, env.units(3))),
        bulkhead.run(async {}),
        bulkhead.run(async {}),
        async {
            t.sleep(env.units(1)).await;
            bulkhead.close();
        },
    )
    .await;
    assert_eq!(admitted, Ok(()));
    assert_eq!((w1, w2), (Err(Rejected::Closed), Err(Rejected::Closed)));
    env.assert_elapsed(start, env.units(3));
    assert_eq!(bulkhead.run(async {}).await, Err(Rejected::Closed));
    let m = bulkhead.metrics();
    assert_eq!((m.in_flight, m.waiting, m.rejected_closed), (0, 0, 3));
}

/// A waiter that is handed the permit and dropped before it sees it passes the permit on to
/// the next waiter, at once.
pub async fn dropped_woken_waiter_passes_the_permit_on<T: Timer>(env: Env<T>) {
    let t = &env.timer;
    let bulkhead = Bulkhead::new(1);
    let start = t.now();
    let holder = bulkhead.run(nap(t, env.units(1)));
    let dropped_waiter = async {
        let mut waiter = pin!(bulkhead.acquire());
        assert!(poll_once(waiter.as_mut()).await, "the bulkhead is full");
        // The holder finishes at 1 and hands this waiter the permit; it is not looked at.
        t.sleep(env.units(2)).await;
        // The permit is handed out, to this waiter, though it never ran.
        assert_eq!(bulkhead.metrics().in_flight, 1);
        assert_eq!(bulkhead.try_acquire().unwrap_err(), Rejected::Full);
    };
    let next = async {
        let r = bulkhead.run(async {}).await;
        env.assert_elapsed(start, env.units(2));
        r
    };
    let (h, (), n) = join3(holder, dropped_waiter, next).await;
    assert_eq!((h, n), (Ok(()), Ok(())));
    let m = bulkhead.metrics();
    assert_eq!((m.in_flight, m.waiting), (0, 0));
}

/// Many short calls on a small bulkhead: nothing accumulates, and every permit comes back.
pub async fn many_calls_leak_nothing<T: Timer>(env: Env<T>) {
    let t = &env.timer;
    let bulkhead = Bulkhead::new(2);
    let wait = env.units(2);
    let start = t.now();
    for round in 0..10u32 {
        let slow = if round % 2 == 0 { 3 } else { 1 };
        let (a, b, c) = join3(
            bulkhead.run_within(t, wait, nap(t, env.units(slow))),
            bulkhead.run_within(t, wait, nap(t, env.units(slow))),
            bulkhead.run_within(t, wait, async {}),
        )
        .await;
        assert_eq!((a, b), (Ok(()), Ok(())));
        if slow == 3 {
            assert_eq!(c, Err(Rejected::WaitedTooLong));
        } else {
            assert_eq!(c, Ok(()));
        }
    }
    env.assert_elapsed(start, env.units(20));
    let m = bulkhead.metrics();
    assert_eq!((m.in_flight, m.waiting, m.high_water), (0, 0, 2));
    assert_eq!(m.rejected_waited_too_long, 5);
    let all = (bulkhead.try_acquire(), bulkhead.try_acquire());
    assert!(all.0.is_ok() && all.1.is_ok(), "every permit came back");
}

/// Expands to one `#[test]` per bulkhead scenario, each calling `$run(|env| scenario(env))`;
/// `list callback!(args)` calls `callback!(args bulkhead; name, ...)` instead.
#[macro_export]
macro_rules! bulkhead_scenarios {
    (list $callback:ident ! ($($args:tt)*)) => {
        $crate::bulkhead_scenarios!(@names $callback ($($args)*));
    };
    ($run:path) => {
        $crate::bulkhead_scenarios!(@names each_test ($run;));
    };
    (@names $callback:ident ($($args:tt)*)) => {
        $crate::__conformance_dispatch!($callback ($($args)*) bulkhead;
            limits_in_flight_in_fifo_order,
            permit_lives_as_long_as_the_work,
            max_wait_turns_late_callers_away,
            call_gives_one_error,
            sheds_load_when_full_or_queue_full,
            close_wakes_waiters,
            dropped_woken_waiter_passes_the_permit_on,
            many_calls_leak_nothing,
        );
    };
}
