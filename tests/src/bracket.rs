//! Bracket scenarios: release runs exactly once after success, error, panic and cancellation,
//! counted; cancellation hands the release to a queue the scenario drives, or to a spawner.
//!
//! [`bracket_scenarios!`](crate::bracket_scenarios) needs neither std nor a heap;
//! [`bracket_panic_scenarios!`](crate::bracket_panic_scenarios) needs `std` (to catch the
//! panic) and [`bracket_spawn_scenarios!`](crate::bracket_spawn_scenarios) needs `alloc`.

use core::future::pending;
use portable_atomic::{AtomicU32, Ordering};

use futures_util::future::join;
use steadfast::Timer;
use steadfast::bracket::{ReleaseQueue, bracket};
use steadfast::timeout::TimeoutExt;

use crate::Env;

/// A resource of the scenarios.
#[derive(Debug, PartialEq, Eq)]
pub struct Conn(pub u32);

/// Adds one to `counter` (one task at a time: a load and a store, fine without CAS).
fn bump(counter: &AtomicU32) {
    counter.store(counter.load(Ordering::SeqCst) + 1, Ordering::SeqCst);
}

fn count(counter: &AtomicU32) -> u32 {
    counter.load(Ordering::SeqCst)
}

/// Success: the value and the release's result come back side by side; release ran once,
/// after use, and both were awaited in place.
pub async fn releases_once_after_success<T: Timer>(env: Env<T>) {
    let t = &env.timer;
    let start = t.now();
    let releases = AtomicU32::new(0);
    let queue: ReleaseQueue<Conn, 1> = ReleaseQueue::new();
    let out = bracket(
        async {
            t.sleep(env.units(1)).await;
            Ok::<_, ()>(Conn(7))
        },
        async |c: &mut Conn| {
            t.sleep(env.units(2)).await;
            c.0 += 1;
            c.0
        },
        |c: Conn| {
            let (releases, three) = (&releases, env.units(3));
            async move {
                t.sleep(three).await;
                assert_eq!(c, Conn(8), "release sees what use left");
                bump(releases);
                Ok::<(), ()>(())
            }
        },
        &queue,
    )
    .await
    .expect("acquired");
    assert_eq!((out.value, out.release), (8, Ok(())));
    assert_eq!(count(&releases), 1);
    env.assert_elapsed(start, env.units(6));
    assert!(queue.is_empty());
    assert_eq!(queue.free_slots(), 1, "the slot is given back");
}

/// An error of `use` is a value like any other: release runs once and the error comes back.
pub async fn releases_once_after_error<T: Timer>(env: Env<T>) {
    let t = &env.timer;
    let releases = AtomicU32::new(0);
    let queue: ReleaseQueue<Conn, 1> = ReleaseQueue::new();
    let out = bracket(
        async { Ok::<_, ()>(Conn(1)) },
        async |_c: &mut Conn| {
            t.sleep(env.units(1)).await;
            Err::<u32, &str>("query failed")
        },
        |_c: Conn| async {
            bump(&releases);
            Ok::<(), ()>(())
        },
        &queue,
    )
    .await
    .expect("acquired");
    assert_eq!(out.value, Err("query failed"));
    assert_eq!(out.release, Ok(()));
    assert_eq!(count(&releases), 1);
}

/// A failing release reaches the caller alongside the use's value.
pub async fn release_failure_reaches_the_caller<T: Timer>(env: Env<T>) {
    let t = &env.timer;
    let queue: ReleaseQueue<Conn, 1> = ReleaseQueue::new();
    let out = bracket(
        async { Ok::<_, ()>(Conn(1)) },
        async |_c: &mut Conn| "done",
        |_c: Conn| async {
            t.sleep(env.units(1)).await;
            Err::<(), _>("close failed")
        },
        &queue,
    )
    .await
    .expect("acquired");
    assert_eq!(out.value, "done");
    assert_eq!(out.release, Err("close failed"));
    assert_eq!(out.into_result(), Err("close failed"));
}

/// A failed acquire releases nothing, calls nothing, and gives its slot back.
pub async fn failed_acquire_releases_nothing<T: Timer>(env: Env<T>) {
    let t = &env.timer;
    let (uses, releases) = (AtomicU32::new(0), AtomicU32::new(0));
    let queue: ReleaseQueue<Conn, 1> = ReleaseQueue::new();
    let err = bracket(
        async {
            t.sleep(env.units(1)).await;
            Err::<Conn, _>("refused")
        },
        async |_c: &mut Conn| bump(&uses),
        |_c: Conn| async {
            bump(&releases);
            Ok::<(), ()>(())
        },
        &queue,
    )
    .await
    .expect_err("acquire failed");
    assert_eq!(err, "refused");
    assert_eq!((count(&uses), count(&releases)), (0, 0));
    assert_eq!(queue.free_slots(), 1);
}

/// Dropped mid-use (here by a timeout), the bracket hands the resource to the queue: the
/// release is not skipped but waits there, once, for the driver; the slot stays taken until
/// the driver takes the resource.
pub async fn cancel_hands_release_to_the_queue<T: Timer>(env: Env<T>) {
    let t = &env.timer;
    let releases = AtomicU32::new(0);
    let release = |c: Conn| {
        let releases = &releases;
        async move {
            assert_eq!(c, Conn(3));
            bump(releases);
            Ok::<(), ()>(())
        }
    };
    let queue: ReleaseQueue<Conn, 2> = ReleaseQueue::new();
    let cancelled = bracket(
        async { Ok::<_, ()>(Conn(3)) },
        async |_c: &mut Conn| pending::<()>().await,
        release,
        &queue,
    )
    .timeout(t, env.units(2))
    .await;
    assert!(cancelled.is_err(), "the use never ends: the timeout fires");
    assert_eq!(count(&releases), 0, "nothing can be awaited on drop");
    assert_eq!((queue.len(), queue.free_slots()), (1, 1));

    // The driver takes it and releases it, exactly once.
    let conn = queue.next().await;
    assert_eq!(release(conn).await, Ok(()));
    assert_eq!(count(&releases), 1);
    assert_eq!((queue.len(), queue.free_slots()), (0, 2));
    assert!(queue.try_next().is_none());
}

/// The queue never overflows: with every slot reserved, the next bracket waits before it
/// acquires, and goes on once the driver frees a slot.
pub async fn full_queue_makes_the_next_bracket_wait<T: Timer>(env: Env<T>) {
    let t = &env.timer;
    let start = t.now();
    let acquired = AtomicU32::new(0);
    let queue: ReleaseQueue<Conn, 1> = ReleaseQueue::new();
    let acquire = |n: u32| {
        let acquired = &acquired;
        async move {
            bump(acquired);
            Ok::<_, ()>(Conn(n))
        }
    };
    let release = |_c: Conn| async { Ok::<(), ()>(()) };

    // The first bracket is cancelled mid-use: its resource takes the only slot.
    let first = bracket(
        acquire(1),
        async |_c: &mut Conn| pending::<()>().await,
        release,
        &queue,
    )
    .timeout(t, env.units(1))
    .await;
    assert!(first.is_err());
    assert_eq!((queue.len(), queue.free_slots()), (1, 0));

    let second = bracket(acquire(2), async |c: &mut Conn| c.0, release, &queue);
    let driver = async {
        t.sleep(env.units(3)).await;
        assert_eq!(count(&acquired), 1, "the second bracket waits for a slot");
        let conn = queue.next().await;
        assert_eq!(conn, Conn(1));
        release(conn).await
    };
    let (second, driven) = join(second, driver).await;
    assert_eq!(driven, Ok(()));
    let second = second.expect("acquired");
    assert_eq!((second.value, second.release), (2, Ok(())));
    assert_eq!(count(&acquired), 2);
    env.assert_elapsed(start, env.units(4));
    assert_eq!((queue.len(), queue.free_slots()), (0, 1));
}

/// Expands to one `#[test]` per bracket scenario that needs neither std nor a heap, each
/// calling `$run(|env| scenario(env))`; `list name!(args)` instead passes the names to a macro.
#[macro_export]
macro_rules! bracket_scenarios {
    (list $callback:ident ! ($($args:tt)*)) => {
        $crate::bracket_scenarios!(@names $callback ($($args)*));
    };
    ($run:path) => {
        $crate::bracket_scenarios!(@names each_test ($run;));
    };
    (@names $callback:ident ($($args:tt)*)) => {
        $crate::__conformance_dispatch!($callback ($($args)*) bracket;
            releases_once_after_success,
            releases_once_after_error,
            release_failure_reaches_the_caller,
            failed_acquire_releases_nothing,
            cancel_hands_release_to_the_queue,
            full_queue_makes_the_next_bracket_wait,
        );
    };
}

#[cfg(feature = "std")]
pub use self::with_std::*;

#[cfg(feature = "std")]
mod with_std {
    use core::future::Future;
    use core::pin::Pin;
    use core::task::{Context, Poll};
    use portable_atomic::AtomicU32;
    use std::panic::{AssertUnwindSafe, catch_unwind};

    use steadfast::Timer;
    use steadfast::bracket::{ReleaseQueue, bracket};

    use super::{Conn, bump, count};
    use crate::Env;

    /// Polls a future, catching a panic of any poll.
    struct CatchUnwind<F>(Pin<std::boxed::Box<F>>);

    impl<F: Future> Future for CatchUnwind<F> {
        type Output = std::thread::Result<F::Output>;
        fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
            let fut = self.0.as_mut();
            match catch_unwind(AssertUnwindSafe(|| fut.poll(cx))) {
                Ok(Poll::Pending) => Poll::Pending,
                Ok(Poll::Ready(v)) => Poll::Ready(Ok(v)),
                Err(p) => Poll::Ready(Err(p)),
            }
        }
    }

    /// A panic in `use` (after an await) is caught, release runs once, in place, and then the
    /// panic, with its message, reaches the caller.
    pub async fn releases_once_after_panic<T: Timer>(env: Env<T>) {
        let t = &env.timer;
        let start = t.now();
        let releases = AtomicU32::new(0);
        let queue: ReleaseQueue<Conn, 1> = ReleaseQueue::new();
        let caught = CatchUnwind(std::boxed::Box::pin(bracket(
            async { Ok::<_, ()>(Conn(1)) },
            async |c: &mut Conn| -> u32 {
                t.sleep(env.units(1)).await;
                if c.0 == 1 {
                    panic!("use exploded");
                }
                c.0
            },
            |_c: Conn| async {
                t.sleep(env.units(2)).await;
                bump(&releases);
                Ok::<(), ()>(())
            },
            &queue,
        )))
        .await;
        let panic = caught.expect_err("the panic reaches the caller");
        // The panic resumes with its message.
        let message = panic
            .downcast_ref::<std::string::String>()
            .map(|s| s.as_str())
            .or_else(|| panic.downcast_ref::<&str>().copied());
        assert_eq!(message, Some("use exploded"));
        assert_eq!(count(&releases), 1);
        if env.clock == crate::Clock::Virtual {
            env.assert_elapsed(start, env.units(3));
        } else {
            // On a real clock the panic hook's own report (a backtrace, with RUST_BACKTRACE)
            // takes time that is not the bracket's: only the lower bound is the bracket's.
            assert!(t.now() - start >= env.units(3));
        }
        assert!(queue.is_empty(), "released in place, not handed off");
        assert_eq!(queue.free_slots(), 1);
    }
}

/// Expands to one `#[test]` per bracket scenario that needs `std`, each calling
/// `$run(|env| scenario(env))`.
#[macro_export]
macro_rules! bracket_panic_scenarios {
    ($run:path) => {
        $crate::__conformance_dispatch!(each_test ($run;) bracket;
            releases_once_after_panic,
        );
    };
}

#[cfg(feature = "alloc")]
pub use self::with_spawner::*;

#[cfg(feature = "alloc")]
mod with_spawner {
    use alloc::boxed::Box;
    use alloc::sync::Arc;
    use core::future::{Future, pending, poll_fn};
    use core::task::Poll;
    use portable_atomic::{AtomicBool, AtomicU32, Ordering};

    use steadfast::Spawn;
    use steadfast::bracket::bracket;

    use super::{Conn, count};
    use crate::{wait_for_flag, yield_now};

    const PATIENCE: u32 = 100_000;

    fn releaser(
        releases: &Arc<AtomicU32>,
        done: &Arc<AtomicBool>,
    ) -> impl FnOnce(Conn) -> core::pin::Pin<Box<dyn Future<Output = Result<(), ()>> + Send>>
    + Send
    + 'static {
        let (releases, done) = (releases.clone(), done.clone());
        move |c: Conn| {
            Box::pin(async move {
                assert_eq!(c, Conn(5));
                yield_now().await;
                releases.fetch_add(1, Ordering::SeqCst);
                done.store(true, Ordering::SeqCst);
                Ok(())
            })
        }
    }

    /// With a spawner, success releases in place (nothing is spawned), exactly once.
    pub async fn spawner_success_releases_in_place<S: Spawn>(spawner: S) {
        let releases = Arc::new(AtomicU32::new(0));
        let done = Arc::new(AtomicBool::new(false));
        let out = bracket(
            async { Ok::<_, ()>(Conn(5)) },
            async |c: &mut Conn| c.0,
            releaser(&releases, &done),
            spawner,
        )
        .await
        .expect("acquired");
        assert_eq!((out.value, out.release), (5, Ok(())));
        assert_eq!(count(&releases), 1);
    }

    /// Dropped mid-use, the bracket spawns the release as a task of its own: it runs, once.
    pub async fn cancel_hands_release_to_the_spawner<S: Spawn>(spawner: S) {
        let releases = Arc::new(AtomicU32::new(0));
        let done = Arc::new(AtomicBool::new(false));
        let mut running = Box::pin(bracket(
            async { Ok::<_, ()>(Conn(5)) },
            async |_c: &mut Conn| pending::<u32>().await,
            releaser(&releases, &done),
            spawner,
        ));
        // One poll: acquired, and parked in the middle of `use`.
        poll_fn(|cx| {
            assert!(running.as_mut().poll(cx).is_pending());
            Poll::Ready(())
        })
        .await;
        assert_eq!(count(&releases), 0);
        drop(running);
        assert!(
            wait_for_flag(&done, PATIENCE).await,
            "the spawned release never ran"
        );
        for _ in 0..100 {
            yield_now().await;
        }
        assert_eq!(count(&releases), 1, "released exactly once");
    }
}

/// Expands to one `#[test]` per bracket scenario with a spawner, each calling
/// `$run(|spawner| scenario(spawner))`.
#[macro_export]
macro_rules! bracket_spawn_scenarios {
    ($run:path) => {
        $crate::__conformance_dispatch!(each_test ($run;) bracket;
            spawner_success_releases_in_place,
            cancel_hands_release_to_the_spawner,
        );
    };
}
