//! Event emitter scenarios: handlers run concurrently, each outcome reported, failures and
//! panics isolated, per-handler timeouts and the concurrency limit in virtual time.
//!
//! [`fixed_events_scenarios!`](crate::fixed_events_scenarios) (the emitter without a heap)
//! needs neither std nor a heap; [`events_scenarios!`](crate::events_scenarios) needs
//! `alloc` (the emitter boxes its handlers), and
//! [`events_panic_scenarios!`](crate::events_panic_scenarios) needs `std` to catch panics.

use core::pin::pin;

use futures_util::future::{Either, join, select};
use steadfast::Timer;
use steadfast::events::{FixedEmitter, Handled, SubscribeError};
use steadfast::timeout::TimeoutExt;

use crate::Env;

/// Subscribers run concurrently, each in its own loop; a failure is reported and stops no
/// other; the report names subscribers by place.
pub async fn fixed_emitter_runs_subscribers_concurrently<T: Timer>(env: Env<T>) {
    let t = &env.timer;
    let emitter: FixedEmitter<u32, u32, 3> = FixedEmitter::new();
    let mut a = emitter.subscribe().expect("room");
    let mut b = emitter.subscribe().expect("room");
    assert_eq!((a.id(), b.id(), emitter.subscriber_count()), (0, 1, 2));
    let two = env.units(2);
    let handlers = pin!(join(
        a.run(move |event: u32| async move {
            t.sleep(two).await;
            if event == 2 { Err(event) } else { Ok(()) }
        }),
        b.run(move |_| async move {
            t.sleep(two).await;
            Ok(())
        }),
    ));
    let emits = pin!(async {
        let start = t.now();
        let report = emitter.emit(1).await;
        env.assert_elapsed(start, env.units(2));
        assert!(report.all_succeeded(), "{report:?}");
        assert_eq!(report.len(), 2);
        let report = emitter.emit(2).await;
        assert_eq!(report.get(0), Some(&Handled::Failed(2)));
        assert_eq!(report.get(1), Some(&Handled::Succeeded));
        assert_eq!(report.get(2), None, "no subscriber in place 2");
        assert_eq!(report.succeeded(), 1);
        env.assert_elapsed(start, env.units(4));
    });
    assert!(matches!(select(emits, handlers).await, Either::Left(_)));
}

/// All places taken: a clear error; an unsubscribed place is free again; an emit with no
/// subscriber reports nothing at once.
pub async fn fixed_emitter_full_is_an_error<T: Timer>(env: Env<T>) {
    let _ = env;
    let emitter: FixedEmitter<u32, (), 2> = FixedEmitter::new();
    assert!(emitter.emit(0).await.is_empty());
    let a = emitter.subscribe().expect("room");
    let b = emitter.subscribe().expect("room");
    let full = emitter.subscribe().expect_err("full");
    assert_eq!(full, SubscribeError::Full);
    assert_eq!(emitter.capacity(), 2);
    let id = a.id();
    drop(a);
    assert_eq!(emitter.subscriber_count(), 1);
    let c = emitter.subscribe().expect("a place was freed");
    assert_eq!(c.id(), id);
    drop((b, c));
    assert_eq!(emitter.subscriber_count(), 0);
    emitter.close();
    assert_eq!(
        emitter.subscribe().expect_err("closed"),
        SubscribeError::Closed
    );
}

/// A subscriber past the emit's timeout is reported timed out at the deadline; while it still
/// runs, later emits report it busy rather than skip it silently; once done it takes events
/// again.
pub async fn fixed_emitter_timeout_and_busy<T: Timer>(env: Env<T>) {
    let t = &env.timer;
    let emitter: FixedEmitter<u32, (), 2> = FixedEmitter::new();
    let mut slow = emitter.subscribe().expect("room");
    let mut quick = emitter.subscribe().expect("room");
    let ten = env.units(10);
    let handlers = pin!(join(
        slow.run(move |event: u32| async move {
            if event == 1 {
                t.sleep(ten).await;
            }
            Ok(())
        }),
        quick.run(|_| async { Ok(()) }),
    ));
    let emits = pin!(async {
        let start = t.now();
        let report = emitter.emit_with_timeout(1, t, env.units(3)).await;
        env.assert_elapsed(start, env.units(3));
        assert_eq!(report.get(0), Some(&Handled::TimedOut));
        assert_eq!(report.get(1), Some(&Handled::Succeeded));
        let report = emitter.emit(2).await;
        assert_eq!(report.get(0), Some(&Handled::Busy));
        assert_eq!(report.get(1), Some(&Handled::Succeeded));
        t.sleep(env.units(8)).await;
        let report = emitter.emit(3).await;
        assert!(report.all_succeeded(), "{report:?}");
        assert_eq!(report.len(), 2);
    });
    assert!(matches!(select(emits, handlers).await, Either::Left(_)));
}

/// An event whose acknowledgement is dropped unsettled, or whose subscriber leaves, is
/// reported abandoned.
pub async fn fixed_emitter_abandoned_events_are_reported<T: Timer>(env: Env<T>) {
    let t = &env.timer;
    let emitter: FixedEmitter<u32, (), 2> = FixedEmitter::new();
    let mut dropper = emitter.subscribe().expect("room");
    let leaver = emitter.subscribe().expect("room");
    let handler = async {
        let (event, ack) = dropper.next().await.expect("open");
        assert_eq!(event, 5);
        t.sleep(env.units(1)).await;
        drop(ack);
        t.sleep(env.units(1)).await;
        drop(leaver);
    };
    let (report, ()) = join(emitter.emit(5), handler).await;
    assert_eq!(report.get(0), Some(&Handled::Abandoned));
    assert_eq!(report.get(1), Some(&Handled::Abandoned));
    assert_eq!(emitter.subscriber_count(), 1);
}

/// An emit dropped while it waits (here by a timeout around it) leaves no subscriber stuck:
/// an event not yet taken is taken back, one being handled is settled into the void, and the
/// next emit reaches everyone.
pub async fn fixed_emitter_cancelled_emit_frees_subscribers<T: Timer>(env: Env<T>) {
    let t = &env.timer;
    let emitter: FixedEmitter<u32, (), 2> = FixedEmitter::new();
    let mut busy = emitter.subscribe().expect("room");
    let mut asleep = emitter.subscribe().expect("room");
    let three = env.units(3);
    let handler = async {
        let (event, ack) = busy.next().await.expect("open");
        assert_eq!(event, 1);
        t.sleep(three).await;
        ack.settle(Ok(()));
    };
    let (cancelled, ()) = join(emitter.emit(1).timeout(t, env.units(1)), handler).await;
    assert!(cancelled.is_err());
    // `asleep` never took event 1: it was taken back, so it is not pending any more.
    let handlers = pin!(join(
        busy.run(|_| async { Ok(()) }),
        asleep.run(|event| async move {
            assert_eq!(event, 2, "the cancelled event was taken back");
            Ok(())
        }),
    ));
    let emits = pin!(async {
        let report = emitter.emit(2).await;
        assert!(report.all_succeeded(), "{report:?}");
        assert_eq!(report.len(), 2);
    });
    assert!(matches!(select(emits, handlers).await, Either::Left(_)));
}

/// Closing the emitter ends every subscriber's loop once it has handled the event already
/// delivered to it; later emits reach nobody and later subscriptions are refused.
pub async fn fixed_emitter_close_ends_subscriber_loops<T: Timer>(env: Env<T>) {
    let t = &env.timer;
    let emitter: FixedEmitter<u32, u32, 2> = FixedEmitter::new();
    let mut quick = emitter.subscribe().expect("room");
    let mut slow = emitter.subscribe().expect("room");
    let one = env.units(1);
    let ((), (), report) = futures_util::future::join3(
        quick.run(|_| async { Ok(()) }),
        slow.run(|event| async move {
            t.sleep(one).await;
            Err(event)
        }),
        async {
            let report = emitter.emit(4).await;
            emitter.close();
            assert!(emitter.is_closed());
            report
        },
    )
    .await;
    assert_eq!(report.get(0), Some(&Handled::Succeeded));
    assert_eq!(report.get(1), Some(&Handled::Failed(4)));
    assert!(
        emitter.emit(5).await.is_empty(),
        "closed: nobody takes part"
    );
    assert_eq!(
        emitter.subscribe().expect_err("closed"),
        SubscribeError::Closed
    );
}

/// Expands to one `#[test]` per scenario of the emitter without a heap, each calling
/// `$run(|env| scenario(env))`; `list name!(args)` instead passes the names to a macro.
#[macro_export]
macro_rules! fixed_events_scenarios {
    (list $callback:ident ! ($($args:tt)*)) => {
        $crate::fixed_events_scenarios!(@names $callback ($($args)*));
    };
    ($run:path) => {
        $crate::fixed_events_scenarios!(@names each_test ($run;));
    };
    (@names $callback:ident ($($args:tt)*)) => {
        $crate::__conformance_dispatch!($callback ($($args)*) events;
            fixed_emitter_runs_subscribers_concurrently,
            fixed_emitter_full_is_an_error,
            fixed_emitter_timeout_and_busy,
            fixed_emitter_abandoned_events_are_reported,
            fixed_emitter_cancelled_emit_frees_subscribers,
            fixed_emitter_close_ends_subscriber_loops,
        );
    };
}

#[cfg(feature = "alloc")]
pub use self::heap::*;

#[cfg(feature = "alloc")]
mod heap {
    use alloc::sync::Arc;
    use alloc::vec::Vec;
    use core::time::Duration;
    use portable_atomic::{AtomicBool, AtomicU32, Ordering};

    use steadfast::Timer;
    use steadfast::events::{Emitter, Handled};

    use crate::Env;

    /// What the event scenarios need of a timer: handlers are `Send + 'static` futures.
    pub trait SendTimer: Timer<Sleep: Send + 'static> + Send + Sync + 'static {}
    impl<T: Timer<Sleep: Send + 'static> + Send + Sync + 'static> SendTimer for T {}

    /// A handler that sleeps `d` and counts its completion.
    fn sleeper<T: SendTimer>(
        timer: &T,
        d: Duration,
        done: &Arc<AtomicU32>,
    ) -> impl Fn(
        u32,
    )
        -> core::pin::Pin<alloc::boxed::Box<dyn Future<Output = Result<(), u32>> + Send>>
    + Send
    + Sync
    + 'static {
        let (timer, done) = (timer.clone(), done.clone());
        move |_event| {
            let (timer, done) = (timer.clone(), done.clone());
            alloc::boxed::Box::pin(async move {
                timer.sleep(d).await;
                done.fetch_add(1, Ordering::SeqCst);
                Ok(())
            })
        }
    }

    /// Every handler runs on its own clone of the event, all at once; the report lists them in
    /// registration order, by the ids their subscriptions gave.
    pub async fn handlers_run_concurrently<T: SendTimer>(env: Env<T>) {
        let t = &env.timer;
        let start = t.now();
        let done = Arc::new(AtomicU32::new(0));
        let seen = Arc::new(AtomicU32::new(0));
        let emitter: Emitter<u32, u32> = Emitter::new();
        let a = emitter.subscribe(sleeper(t, env.units(2), &done));
        let s = seen.clone();
        let b = emitter.subscribe(move |event: u32| {
            let s = s.clone();
            async move {
                s.fetch_add(event, Ordering::SeqCst);
                Ok(())
            }
        });
        let c = emitter.subscribe(sleeper(t, env.units(2), &done));
        let report = emitter.emit(40).await;
        env.assert_elapsed(start, env.units(2));
        assert!(report.all_succeeded(), "{report:?}");
        let ids: Vec<_> = report.iter().map(|(id, _)| id).collect();
        assert_eq!(ids, [a.id(), b.id(), c.id()]);
        assert_eq!(done.load(Ordering::SeqCst), 2);
        assert_eq!(seen.load(Ordering::SeqCst), 40);
    }

    /// A failing handler is reported and stops nothing: the slower ones run to their end.
    pub async fn a_failure_stops_no_other_handler<T: SendTimer>(env: Env<T>) {
        let t = &env.timer;
        let done = Arc::new(AtomicU32::new(0));
        let emitter: Emitter<u32, u32> = Emitter::new();
        let tf = t.clone();
        let one = env.units(1);
        let _fail = emitter.subscribe(move |event: u32| {
            let t = tf.clone();
            async move {
                t.sleep(one).await;
                Err(event + 1)
            }
        });
        let _slow = emitter.subscribe(sleeper(t, env.units(3), &done));
        let report = emitter.emit(6).await;
        let outcomes = report.clone().into_outcomes();
        assert_eq!(outcomes[0].1.error(), Some(&7));
        assert!(outcomes[1].1.is_success());
        assert_eq!((report.succeeded(), report.failures().count()), (1, 1));
        assert_eq!(done.load(Ordering::SeqCst), 1);
    }

    /// A handler past the per-handler timeout is dropped at its deadline and reported; the others
    /// are unaffected.
    pub async fn handler_timeout_drops_the_slow_one<T: SendTimer>(env: Env<T>) {
        let t = &env.timer;
        let start = t.now();
        let done = Arc::new(AtomicU32::new(0));
        let dropped = Arc::new(AtomicBool::new(false));
        let emitter: Emitter<u32, u32> = Emitter::new();
        let (ts, d) = (t.clone(), dropped.clone());
        let long = env.units(10);
        let stuck = emitter.subscribe(move |_| {
            let (t, d) = (ts.clone(), d.clone());
            async move {
                let _guard = OwnedSetOnDrop(d);
                t.sleep(long).await;
                Ok(())
            }
        });
        let quick = emitter.subscribe(sleeper(t, env.units(1), &done));
        let report = emitter.emit(0).handler_timeout(t, env.units(3)).await;
        env.assert_elapsed(start, env.units(3));
        assert_eq!(report.get(stuck.id()), Some(&Handled::TimedOut));
        assert_eq!(report.get(quick.id()), Some(&Handled::Succeeded));
        assert!(
            dropped.load(Ordering::SeqCst),
            "the timed-out handler was dropped"
        );
        assert_eq!(done.load(Ordering::SeqCst), 1);
    }

    /// With a limit of 2, four handlers of 2 units each run two by two, in registration order, and
    /// a handler's timeout starts when the handler does.
    pub async fn concurrency_limit_runs_handlers_in_turn<T: SendTimer>(env: Env<T>) {
        let t = &env.timer;
        let start = t.now();
        let running = Arc::new(AtomicU32::new(0));
        let most = Arc::new(AtomicU32::new(0));
        let emitter: Emitter<u32, u32> = Emitter::new();
        for _ in 0..4 {
            let (t, running, most) = (t.clone(), running.clone(), most.clone());
            let two = env.units(2);
            drop(emitter.subscribe(move |_| {
                let (t, running, most) = (t.clone(), running.clone(), most.clone());
                async move {
                    let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                    most.fetch_max(now, Ordering::SeqCst);
                    t.sleep(two).await;
                    running.fetch_sub(1, Ordering::SeqCst);
                    Ok(())
                }
            }));
        }
        let report = emitter
            .emit(0)
            .max_concurrent(2)
            .expect("a limit of 2 is valid")
            .handler_timeout(t, env.units(3))
            .await;
        assert!(report.all_succeeded(), "{report:?}");
        assert_eq!(most.load(Ordering::SeqCst), 2);
        env.assert_elapsed(start, env.units(4));
    }

    /// A subscription unregisters, once; an emit with no handler is an empty report; a closed
    /// emitter runs no handler.
    pub async fn unsubscribe_removes_the_handler<T: SendTimer>(env: Env<T>) {
        let t = &env.timer;
        let done = Arc::new(AtomicU32::new(0));
        let emitter: Emitter<u32, u32> = Emitter::new();
        let a = emitter.subscribe(sleeper(t, env.units(1), &done));
        let b = emitter.subscribe(sleeper(t, env.units(1), &done));
        assert_eq!(emitter.subscriber_count(), 2);
        let b_id = b.id();
        assert!(a.unsubscribe());
        let report = emitter.emit(0).await;
        assert_eq!(report.len(), 1);
        assert_eq!(report.iter().next().map(|(id, _)| id), Some(b_id));
        assert!(b.unsubscribe());
        let report = emitter.emit(0).await;
        assert!(report.is_empty() && report.all_succeeded());
        assert_eq!(done.load(Ordering::SeqCst), 1);
        let c = emitter.subscribe(sleeper(t, env.units(1), &done));
        emitter.close();
        assert!(emitter.is_closed() && !c.unsubscribe());
        assert!(emitter.emit(0).await.is_empty());
        assert_eq!(done.load(Ordering::SeqCst), 1);
    }

    struct OwnedSetOnDrop(Arc<AtomicBool>);

    impl Drop for OwnedSetOnDrop {
        fn drop(&mut self) {
            self.0.store(true, Ordering::SeqCst);
        }
    }

    /// Expands to one `#[test]` per event scenario, each calling `$run(|env| scenario(env))`.
    #[macro_export]
    macro_rules! events_scenarios {
        ($run:path) => {
            $crate::__conformance_dispatch!(each_test ($run;) events;
                handlers_run_concurrently,
                a_failure_stops_no_other_handler,
                handler_timeout_drops_the_slow_one,
                concurrency_limit_runs_handlers_in_turn,
                unsubscribe_removes_the_handler,
            );
        };
    }

    #[cfg(feature = "std")]
    pub use self::with_std::*;

    #[cfg(feature = "std")]
    mod with_std {
        use alloc::sync::Arc;
        use portable_atomic::{AtomicU32, Ordering};

        use steadfast::events::{Emitter, Handled};

        use super::{SendTimer, sleeper};
        use crate::Env;

        /// A panic in a handler, whether it is being called or polled, is reported as a panic of
        /// that handler; the others run to their end.
        pub async fn panics_are_isolated<T: SendTimer>(env: Env<T>) {
            let t = &env.timer;
            let done = Arc::new(AtomicU32::new(0));
            let emitter: Emitter<u32, u32> = Emitter::new();
            let tp = t.clone();
            let one = env.units(1);
            let _panics_later = emitter.subscribe(move |event: u32| {
                let t = tp.clone();
                async move {
                    t.sleep(one).await;
                    if event == 1 {
                        panic!("handler exploded");
                    }
                    Ok(())
                }
            });
            let _panics_at_once =
                emitter.subscribe(|event: u32| -> core::future::Ready<Result<(), u32>> {
                    if event == 1 {
                        panic!("handler refused to start");
                    }
                    core::future::ready(Ok(()))
                });
            let _slow = emitter.subscribe(sleeper(t, env.units(2), &done));
            let report = emitter.emit(1).await;
            let messages: alloc::vec::Vec<_> = report
                .iter()
                .map(|(_, o)| match o {
                    Handled::Panicked(p) => p.message().map(alloc::string::String::from),
                    _ => None,
                })
                .collect();
            assert_eq!(
                messages,
                [
                    Some("handler exploded".into()),
                    Some("handler refused to start".into()),
                    None
                ]
            );
            assert_eq!(report.succeeded(), 1);
            assert_eq!(done.load(Ordering::SeqCst), 1);
        }
    }

    /// Expands to one `#[test]` per event scenario that needs `std`.
    #[macro_export]
    macro_rules! events_panic_scenarios {
        ($run:path) => {
            $crate::__conformance_dispatch!(each_test ($run;) events;
                panics_are_isolated,
            );
        };
    }
}
