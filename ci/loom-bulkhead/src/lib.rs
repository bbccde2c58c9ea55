//! Loom models of `steadfast::bulkhead::Bulkhead`, built from its source files with loom's
//! primitives: the core's semaphore (`core/src/sync`) and the bulkhead's own atomics alike.
//!
//! The semaphore has loom models of its own, in `ci/loom-semaphore`. These cover the bulkhead
//! on top of it: `close` against waiters and holders, the cap on waiters, and the high-water
//! mark read at admission.
//!
//! Without `--cfg loom` this crate checks that the modules build on their own, and its tests
//! are the modules' plain unit tests.
// Without loom the module's own tests run here too; their helpers serve the core's tests
// with `alloc`, which use more of them.
#![cfg_attr(test, allow(dead_code))]

// The modules the bulkhead needs, from the same files as the core and at the same paths.
#[path = "../../../core/src/error.rs"]
mod error;
#[path = "../../../core/src/loom.rs"]
mod loom;
// The semaphore every pattern that waits for permits uses.
#[path = "../../../core/src/sync/mod.rs"]
mod sync;
// The core's other patterns use the rest of the clock module.
#[allow(dead_code)]
#[path = "../../../core/src/time/mod.rs"]
mod time;
#[path = "../../../core/src/timeout/mod.rs"]
pub mod timeout;

#[path = "../../../core/src/bulkhead/mod.rs"]
pub mod bulkhead;

// The observer hook the bulkhead's and the timeout's futures report through.
#[path = "../../../core/src/observe/mod.rs"]
mod observe;

/// Stand-ins for the breaker's state and transition, which the observer's events name: these
/// models race the bulkhead, not the breaker.
#[allow(dead_code)]
mod breaker {
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub enum State {
        Closed,
        Open,
        HalfOpen,
        ForcedOpen,
        Disabled,
    }

    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub struct Transition {
        pub from: State,
        pub to: State,
        pub at: crate::Instant,
    }
}

pub use error::ConfigError;
pub use time::{Instant, Timer};

#[cfg(all(test, loom))]
#[path = "../../loom-model.rs"]
mod model;

#[cfg(all(test, loom))]
mod models {
    use super::bulkhead::{Bulkhead, Rejected};
    use crate::model::model;
    use core::pin::pin;
    use core::task::{Context, Poll, Waker};
    use loom::future::block_on;
    use loom::sync::atomic::{AtomicUsize, Ordering::SeqCst};
    use loom::sync::{Arc, mpsc};
    use loom::thread;

    /// Polls `future` once, with a waker that does nothing.
    fn poll_once<F: Future>(future: core::pin::Pin<&mut F>) -> Poll<F::Output> {
        future.poll(&mut Context::from_waker(Waker::noop()))
    }

    /// `close` races a waiter and the release of the permit it waits for. The waiter either
    /// gets the permit and runs its work under it, or gets `Closed`; it is never left asleep.
    /// Afterwards every permit is back, nobody counts as waiting, and newcomers get `Closed`.
    #[test]
    fn close_races_a_waiter_and_a_holder() {
        model(|| {
            let bulkhead = Arc::new(Bulkhead::new(1));
            let ran = Arc::new(AtomicUsize::new(0));
            let held = bulkhead.try_acquire().unwrap();
            let waiter = {
                let (bulkhead, ran) = (bulkhead.clone(), ran.clone());
                thread::spawn(move || {
                    block_on(bulkhead.run(async move {
                        ran.fetch_add(1, SeqCst);
                    }))
                })
            };
            let closer = {
                let bulkhead = bulkhead.clone();
                thread::spawn(move || bulkhead.close())
            };
            drop(held);
            closer.join().unwrap();
            let outcome = waiter.join().unwrap();
            match outcome {
                Ok(()) => assert_eq!(ran.load(SeqCst), 1),
                Err(Rejected::Closed) => assert_eq!(ran.load(SeqCst), 0),
                Err(other) => panic!("unexpected rejection: {other:?}"),
            }
            let m = bulkhead.metrics();
            assert_eq!((m.in_flight, m.waiting), (0, 0));
            assert_eq!(m.rejected_closed, usize::from(outcome.is_err()));
            assert_eq!(bulkhead.try_acquire().unwrap_err(), Rejected::Closed);
        });
    }

    /// `close` wakes every waiter though the permit they wait for is never released: each
    /// gets `Closed`, whether it started waiting before the close or not. The permit held
    /// across the close stays valid, and counts, until it is dropped.
    #[test]
    fn close_wakes_every_waiter() {
        model(|| {
            let bulkhead = Arc::new(Bulkhead::new(1));
            let held = bulkhead.try_acquire().unwrap();
            let waiters: Vec<_> = (0..2)
                .map(|_| {
                    let bulkhead = bulkhead.clone();
                    thread::spawn(move || block_on(bulkhead.acquire()).map(drop))
                })
                .collect();
            bulkhead.close();
            for waiter in waiters {
                assert_eq!(waiter.join().unwrap(), Err(Rejected::Closed));
            }
            let m = bulkhead.metrics();
            assert_eq!((m.in_flight, m.waiting, m.rejected_closed), (1, 0, 2));
            drop(held);
            assert_eq!(bulkhead.metrics().in_flight, 0);
        });
    }

    /// Two callers find every permit taken and race for the one place in the queue
    /// (`max_waiting(1)`): exactly one waits, and gets the permit once it is released; the
    /// other is turned away with `QueueFull`. Afterwards the counters are back at zero.
    #[test]
    fn two_waiters_race_for_one_place() {
        model(|| {
            let bulkhead = Arc::new(Bulkhead::builder(1).max_waiting(1).build().unwrap());
            let held = bulkhead.try_acquire().unwrap();
            let (polled, first_polls) = mpsc::channel();
            let callers: Vec<_> = (0..2)
                .map(|_| {
                    let (bulkhead, polled) = (bulkhead.clone(), polled.clone());
                    thread::spawn(move || {
                        let mut acquire = pin!(bulkhead.acquire());
                        let first = poll_once(acquire.as_mut());
                        polled.send(()).unwrap();
                        let waited = first.is_pending();
                        let outcome = match first {
                            Poll::Ready(outcome) => outcome.map(drop),
                            Poll::Pending => block_on(acquire).map(drop),
                        };
                        (waited, outcome)
                    })
                })
                .collect();
            // Both have tried while the permit is held.
            first_polls.recv().unwrap();
            first_polls.recv().unwrap();
            assert_eq!(bulkhead.metrics().waiting, 1);
            drop(held);
            let mut outcomes: Vec<_> = callers.into_iter().map(|c| c.join().unwrap()).collect();
            outcomes.sort_by_key(|&(waited, _)| waited);
            assert_eq!(
                outcomes,
                [(false, Err(Rejected::QueueFull)), (true, Ok(()))]
            );
            let m = bulkhead.metrics();
            assert_eq!((m.in_flight, m.waiting, m.rejected_queue_full), (0, 0, 1));
        });
    }

    /// A waiter that may be handed the permit and is then dropped before it sees it passes
    /// the permit on: the next waiter completes (no lost wake-up), and nothing leaks.
    #[test]
    fn dropped_woken_waiter_passes_the_permit_on() {
        model(|| {
            let bulkhead = Arc::new(Bulkhead::new(1));
            let held = bulkhead.try_acquire().unwrap();
            let (queued, in_queue) = mpsc::channel();
            let dropped = {
                let bulkhead = bulkhead.clone();
                thread::spawn(move || {
                    let mut acquire = pin!(bulkhead.acquire());
                    assert!(poll_once(acquire.as_mut()).is_pending());
                    queued.send(()).unwrap();
                    // Dropped here: before or after the release hands it the permit.
                })
            };
            let next = {
                let bulkhead = bulkhead.clone();
                thread::spawn(move || block_on(bulkhead.run(async {})))
            };
            in_queue.recv().unwrap();
            drop(held);
            dropped.join().unwrap();
            assert_eq!(next.join().unwrap(), Ok(()));
            let m = bulkhead.metrics();
            assert_eq!((m.in_flight, m.waiting, m.high_water), (0, 0, 1));
        });
    }

    /// Three threads admit work at once through a bulkhead of two permits: two wait for a
    /// permit, the third tries first and waits when none is free. The work never runs more
    /// than `max_concurrent` at a time, and the high-water mark read at admission catches the
    /// peak: never less than the most that ran at once, never more than the limit.
    #[test]
    fn admissions_never_exceed_the_limit() {
        const MAX: usize = 2;
        model(|| {
            let bulkhead = Arc::new(Bulkhead::new(MAX));
            let running = Arc::new(AtomicUsize::new(0));
            let peak = Arc::new(AtomicUsize::new(0));
            let work = {
                let (running, peak) = (running.clone(), peak.clone());
                move || {
                    let (running, peak) = (running.clone(), peak.clone());
                    async move {
                        let now = running.fetch_add(1, SeqCst) + 1;
                        assert!(now <= MAX, "{now} running at once, over the limit of {MAX}");
                        peak.fetch_max(now, SeqCst);
                        running.fetch_sub(1, SeqCst);
                    }
                }
            };
            let workers: Vec<_> = (0..2)
                .map(|_| {
                    let (bulkhead, work) = (bulkhead.clone(), work());
                    thread::spawn(move || block_on(bulkhead.run(work)))
                })
                .collect();
            match bulkhead.try_acquire() {
                Ok(permit) => {
                    block_on(work());
                    drop(permit);
                }
                Err(Rejected::Full) => block_on(bulkhead.run(work())).unwrap(),
                Err(other) => panic!("unexpected rejection: {other:?}"),
            }
            for worker in workers {
                assert_eq!(worker.join().unwrap(), Ok(()));
            }
            let m = bulkhead.metrics();
            assert_eq!((m.in_flight, m.waiting), (0, 0));
            assert!((peak.load(SeqCst)..=MAX).contains(&m.high_water));
        });
    }
}
