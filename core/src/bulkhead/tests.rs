use super::*;

use core::future::Future;
use core::pin::{Pin, pin};
use core::task::{Context, Poll, Waker};

use crate::ConfigError;

fn poll_once<F: Future + ?Sized>(f: Pin<&mut F>, waker: &Waker) -> Poll<F::Output> {
    f.poll(&mut Context::from_waker(waker))
}

#[test]
fn invalid_settings_name_the_field() {
    let field = |r: Result<Bulkhead, ConfigError>| r.unwrap_err().field();
    assert_eq!(field(Bulkhead::builder(0).build()), "max_concurrent");
    assert_eq!(
        field(Bulkhead::builder(usize::MAX).build()),
        "max_concurrent"
    );
    assert_eq!(
        field(Bulkhead::builder(2).max_waiting(0).build()),
        "max_waiting"
    );
    assert_eq!(
        field(
            Bulkhead::builder(2)
                .reject_when_full()
                .max_waiting(3)
                .build()
        ),
        "max_waiting"
    );
    assert!(Bulkhead::builder(1).build().is_ok());
    assert!(Bulkhead::builder(usize::MAX / 2).build().is_ok());
    assert!(Bulkhead::builder(3).max_waiting(1).build().is_ok());
}

#[test]
fn errors_display_and_name_the_field() {
    use std::string::ToString;
    assert_eq!(Rejected::QueueFull.to_string(), "bulkhead wait queue full");
    let e = error::invalid("max_concurrent", "must be at least 1");
    assert_eq!(e.field(), "max_concurrent");
    assert_eq!(
        e.to_string(),
        "invalid bulkhead setting `max_concurrent`: must be at least 1"
    );
}

#[test]
fn bulkhead_error_keeps_the_chain_and_is_send_sync() {
    use core::error::Error as _;
    use std::string::ToString;
    fn send_sync<T: Send + Sync + 'static>() {}
    send_sync::<Rejected>();
    send_sync::<BulkheadError<std::io::Error>>();
    let failed: BulkheadError<std::io::Error> =
        BulkheadError::Failed(std::io::Error::other("upstream down"));
    assert_eq!(failed.to_string(), "bulkheaded work failed");
    assert_eq!(failed.source().unwrap().to_string(), "upstream down");
    assert_eq!(failed.rejected(), None);
    let shed = BulkheadError::<std::io::Error>::from(Rejected::Full);
    assert_eq!(shed.to_string(), "bulkhead full");
    assert!(shed.source().is_none());
    assert_eq!(shed.rejected(), Some(Rejected::Full));
    assert!(shed.into_error().is_none());
}

#[test]
#[should_panic(expected = "must be at least 1")]
fn const_constructor_panics_outside_const_contexts() {
    let _ = Bulkhead::new(0);
}

static STATIC: Bulkhead = Bulkhead::builder(2).max_waiting(4).build_const();

#[test]
fn lives_in_a_static() {
    let a = STATIC.try_acquire().unwrap();
    let b = STATIC.try_acquire().unwrap();
    assert_eq!(STATIC.try_acquire().unwrap_err(), Rejected::Full);
    drop((a, b));
    assert_eq!(STATIC.metrics().in_flight, 0);
    assert_eq!(STATIC.max_concurrent(), 2);
}

#[test]
fn waiters_are_served_in_fifo_order() {
    let b = Bulkhead::new(1);
    let held = b.try_acquire().unwrap();
    let mut first = pin!(b.acquire());
    let mut second = pin!(b.acquire());
    let mut third = pin!(b.acquire());
    let w = Waker::noop();
    assert!(poll_once(first.as_mut(), w).is_pending());
    assert!(poll_once(second.as_mut(), w).is_pending());
    assert!(poll_once(third.as_mut(), w).is_pending());
    assert_eq!(b.metrics().waiting, 3);
    drop(held);
    // A newcomer does not jump the queue.
    assert_eq!(b.try_acquire().unwrap_err(), Rejected::Full);
    assert!(poll_once(third.as_mut(), w).is_pending());
    assert!(poll_once(second.as_mut(), w).is_pending());
    let p = match poll_once(first.as_mut(), w) {
        Poll::Ready(Ok(p)) => p,
        other => panic!("the first waiter is served first: {other:?}"),
    };
    drop(p);
    assert!(poll_once(third.as_mut(), w).is_pending());
    let Poll::Ready(Ok(_second)) = poll_once(second.as_mut(), w) else {
        panic!("the second waiter is served next");
    };
    assert_eq!(b.metrics().waiting, 1);
}

#[test]
fn reject_when_full_and_queue_cap() {
    let shed = Bulkhead::builder(1).reject_when_full().build().unwrap();
    let p = shed.try_acquire().unwrap();
    let mut a = pin!(shed.acquire());
    assert!(matches!(
        poll_once(a.as_mut(), Waker::noop()),
        Poll::Ready(Err(Rejected::Full))
    ));
    drop(p);

    let capped = Bulkhead::builder(1).max_waiting(1).build().unwrap();
    let _p = capped.try_acquire().unwrap();
    let mut w1 = pin!(capped.acquire());
    let mut w2 = pin!(capped.acquire());
    assert!(poll_once(w1.as_mut(), Waker::noop()).is_pending());
    assert!(matches!(
        poll_once(w2.as_mut(), Waker::noop()),
        Poll::Ready(Err(Rejected::QueueFull))
    ));
    let m = capped.metrics();
    assert_eq!((m.waiting, m.rejected_queue_full, m.rejected()), (1, 1, 1));
}

#[test]
fn close_wakes_waiters_and_rejects_newcomers() {
    let b = Bulkhead::new(1);
    let held = b.try_acquire().unwrap();
    let flag = std::sync::Arc::new(Flag::default());
    let waker = Waker::from(flag.clone());
    let mut waiter = pin!(b.acquire());
    assert!(poll_once(waiter.as_mut(), &waker).is_pending());
    assert!(!b.is_closed());
    b.close();
    assert!(b.is_closed());
    assert_eq!(flag.wakes(), 1);
    assert!(matches!(
        poll_once(waiter.as_mut(), &waker),
        Poll::Ready(Err(Rejected::Closed))
    ));
    assert_eq!(b.try_acquire().unwrap_err(), Rejected::Closed);
    // A permit held across the close stays valid, and is released without trouble.
    assert_eq!(b.metrics().in_flight, 1);
    drop(held);
    let m = b.metrics();
    assert_eq!((m.in_flight, m.waiting, m.rejected_closed), (0, 0, 2));
}

#[derive(Default)]
struct Flag {
    woken: std::sync::atomic::AtomicBool,
    count: std::sync::atomic::AtomicUsize,
}

impl Flag {
    fn wakes(&self) -> usize {
        self.count.load(Ordering::SeqCst)
    }
    fn is_woken(&self) -> bool {
        self.woken.load(Ordering::SeqCst)
    }
    fn take(&self) -> bool {
        self.woken.swap(false, Ordering::SeqCst)
    }
}

impl std::task::Wake for Flag {
    fn wake(self: std::sync::Arc<Self>) {
        self.wake_by_ref();
    }
    fn wake_by_ref(self: &std::sync::Arc<Self>) {
        self.woken.store(true, Ordering::SeqCst);
        self.count.fetch_add(1, Ordering::SeqCst);
    }
}

#[cfg(feature = "alloc")]
mod with_alloc {
    use super::*;
    use crate::VirtualTimer;
    use crate::timeout::TimeoutExt;
    use std::boxed::Box;
    use std::sync::Arc;
    use std::vec::Vec;

    #[test]
    fn a_woken_then_dropped_waiter_passes_the_permit_on() {
        let b = Bulkhead::new(1);
        let held = b.try_acquire().unwrap();
        let (fa, fb) = (Arc::new(Flag::default()), Arc::new(Flag::default()));
        let (wa, wb) = (Waker::from(fa.clone()), Waker::from(fb.clone()));
        let mut a = Box::pin(b.acquire());
        let mut bb = pin!(b.acquire());
        assert!(poll_once(a.as_mut(), &wa).is_pending());
        assert!(poll_once(bb.as_mut(), &wb).is_pending());
        drop(held);
        assert_eq!((fa.wakes(), fb.wakes()), (1, 0), "the head waiter is woken");
        // `a` never sees its permit: dropping it hands the wake-up to `bb`.
        drop(a);
        assert_eq!(fb.wakes(), 1, "the wake-up was lost");
        assert!(matches!(poll_once(bb.as_mut(), &wb), Poll::Ready(Ok(_))));
        assert_eq!(b.metrics().waiting, 0);
    }

    #[test]
    fn idle_waiters_are_not_woken() {
        let timer = VirtualTimer::new();
        let b = Bulkhead::new(1);
        let held = b.try_acquire().unwrap();
        let flags: Vec<Arc<Flag>> = (0..4).map(|_| Arc::new(Flag::default())).collect();
        let mut waiters: Vec<_> = (0..4)
            .map(|_| Box::pin(b.acquire_within(&timer, Duration::from_secs(60))))
            .collect();
        for (w, f) in waiters.iter_mut().zip(&flags) {
            assert!(poll_once(w.as_mut(), &Waker::from(f.clone())).is_pending());
        }
        // Time passes, short of `max_wait`: nobody is woken, so nobody is polled again.
        timer.advance(Duration::from_secs(59));
        assert!(flags.iter().all(|f| f.wakes() == 0));
        drop(held);
        let wakes: Vec<usize> = flags.iter().map(|f| f.wakes()).collect();
        assert_eq!(wakes, [1, 0, 0, 0], "only the head waiter is woken");
    }

    #[test]
    fn max_wait_counts_from_the_first_poll() {
        let timer = VirtualTimer::new();
        let b = Bulkhead::new(1);
        let _held = b.try_acquire().unwrap();
        let mut w = pin!(b.acquire_within(&timer, Duration::from_secs(5)));
        timer.advance(Duration::from_secs(10));
        assert!(poll_once(w.as_mut(), Waker::noop()).is_pending());
        timer.advance(Duration::from_secs(4));
        assert!(poll_once(w.as_mut(), Waker::noop()).is_pending());
        timer.advance(Duration::from_secs(1));
        assert!(matches!(
            poll_once(w.as_mut(), Waker::noop()),
            Poll::Ready(Err(Rejected::WaitedTooLong))
        ));
        assert_eq!(timer.sleepers(), 0);
        assert_eq!(b.metrics().rejected_waited_too_long, 1);
    }

    #[test]
    fn a_timeout_around_run_frees_the_permit_when_it_drops_the_work() {
        let timer = VirtualTimer::new();
        let b = Bulkhead::new(1);
        let dropped = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let d = dropped.clone();
        let work = async move {
            let _guard = DropFlag(d);
            core::future::pending::<()>().await;
        };
        let mut timed = pin!(b.run(work).timeout(&timer, Duration::from_secs(3)));
        assert!(poll_once(timed.as_mut(), Waker::noop()).is_pending());
        timer.advance(Duration::from_secs(2));
        assert!(poll_once(timed.as_mut(), Waker::noop()).is_pending());
        assert_eq!(b.metrics().in_flight, 1);
        assert!(b.try_acquire().is_err());
        timer.advance(Duration::from_secs(1));
        assert!(matches!(
            poll_once(timed.as_mut(), Waker::noop()),
            Poll::Ready(Err(_))
        ));
        assert!(dropped.load(Ordering::SeqCst));
        assert_eq!(b.metrics().in_flight, 0);
        assert!(b.try_acquire().is_ok());
    }

    struct DropFlag(Arc<std::sync::atomic::AtomicBool>);
    impl Drop for DropFlag {
        fn drop(&mut self) {
            // The permit is still held while the work is being dropped.
            self.0.store(true, Ordering::SeqCst);
        }
    }

    /// Threads acquire and release while another closes the bulkhead: every caller that starts
    /// after `close` returned is turned away, no waiter is left parked, and every permit comes
    /// back.
    #[test]
    fn close_races_admissions_on_threads() {
        use std::sync::atomic::AtomicBool;
        // Miri runs a few rounds: it interprets each thread switch.
        for _ in 0..if cfg!(miri) { 5 } else { 50 } {
            let b = Arc::new(Bulkhead::new(2));
            let closed = Arc::new(AtomicBool::new(false));
            let threads: Vec<_> = (0..4)
                .map(|_| {
                    let (b, closed) = (b.clone(), closed.clone());
                    std::thread::spawn(move || {
                        let mut admitted = 0u32;
                        loop {
                            let after_close = closed.load(Ordering::SeqCst);
                            match futures_executor::block_on(b.acquire()) {
                                Ok(permit) => {
                                    assert!(!after_close, "admitted after close returned");
                                    admitted += 1;
                                    std::thread::yield_now();
                                    drop(permit);
                                }
                                Err(Rejected::Closed) => return admitted,
                                Err(other) => panic!("{other:?}"),
                            }
                        }
                    })
                })
                .collect();
            std::thread::sleep(std::time::Duration::from_micros(200));
            b.close();
            closed.store(true, Ordering::SeqCst);
            for t in threads {
                // Joining at all proves that no waiter was left parked.
                t.join().expect("no thread panicked");
            }
            let m = b.metrics();
            assert_eq!((m.in_flight, m.waiting), (0, 0));
            assert!(m.high_water <= 2);
            assert_eq!(b.semaphore.available_permits(), 2);
        }
    }

    #[test]
    fn owned_permits() {
        let b = Arc::new(Bulkhead::new(1));
        let p = b.try_acquire_owned().unwrap();
        assert_eq!(b.metrics().in_flight, 1);
        let mut next = pin!(b.acquire_owned());
        let flag = Arc::new(Flag::default());
        let waker = Waker::from(flag.clone());
        assert!(poll_once(next.as_mut(), &waker).is_pending());
        drop(p);
        assert_eq!(flag.wakes(), 1);
        let p2 = match poll_once(next.as_mut(), &waker) {
            Poll::Ready(Ok(p)) => p,
            other => panic!("{other:?}"),
        };
        assert_eq!(b.metrics().in_flight, 1);
        assert!(Arc::ptr_eq(p2.bulkhead(), &b));
        drop(p2);
        assert_eq!(b.metrics().in_flight, 0);
        assert_eq!(b.semaphore.available_permits(), 1);
    }

    use crate::test_util::schedule::Rng;
    use crate::test_util::schedules;

    /// A waiter of the schedule: its future, its waker's flag, and its place in arrival order.
    type Waiter<'a> = (
        Pin<Box<dyn Future<Output = Result<Permit<'a>, Rejected>> + 'a>>,
        Arc<Flag>,
        usize,
    );

    /// Polls the waiters whose waker fired, as an executor would; returns the outcomes with
    /// each waiter's place in arrival order. A waiter served a permit finds no older waiter
    /// still parked un-woken: the semaphore hands permits out in FIFO order.
    fn poll_woken<'a>(waiters: &mut Vec<Waiter<'a>>) -> Vec<(usize, Result<Permit<'a>, Rejected>)> {
        let mut out = Vec::new();
        let mut i = 0;
        while i < waiters.len() {
            if waiters[i].1.take() {
                let waker = Waker::from(waiters[i].1.clone());
                if let Poll::Ready(r) = poll_once(waiters[i].0.as_mut(), &waker) {
                    let place = waiters[i].2;
                    if r.is_ok() {
                        let passed = waiters[..i].iter().any(|w| !w.1.is_woken());
                        assert!(!passed, "a younger waiter was served before an older one");
                    }
                    out.push((place, r));
                    drop(waiters.remove(i));
                    continue;
                }
            }
            i += 1;
        }
        out
    }

    /// One random schedule of acquires (plain and bounded), drops of waiters and of permits,
    /// clock jumps and a close, with the invariants checked after every step and at
    /// quiescence.
    fn one_schedule(rng: &mut Rng) {
        let timer = VirtualTimer::new();
        let limit = rng.below(3) + 1;
        let max_wait = Duration::from_secs(rng.below(4) as u64 + 1);
        // 0: plain waits; 1: reject when full; 2, 3: bounded waits.
        let mode = rng.below(4);
        let mut config = Bulkhead::builder(limit);
        if mode == 1 {
            config = config.reject_when_full();
        }
        let capped = mode != 1 && rng.below(2) == 0;
        if capped {
            config = config.max_waiting(rng.below(3) + 1);
        }
        let b = config.build().unwrap();
        let mut waiters: Vec<Waiter<'_>> = Vec::new();
        let mut held: Vec<Permit<'_>> = Vec::new();
        let mut closed = false;
        let mut arrivals = 0;

        let check = |r: &Result<Permit<'_>, Rejected>, closed: bool| match r {
            Ok(_) => assert!(!closed, "admitted after close"),
            Err(Rejected::Full) => assert_eq!(mode, 1),
            Err(Rejected::QueueFull) => assert!(capped),
            Err(Rejected::WaitedTooLong) => assert!(mode >= 2),
            Err(Rejected::Closed) => assert!(closed),
        };

        for _ in 0..40 {
            match rng.below(20) {
                0..=5 => {
                    let flag = Arc::new(Flag::default());
                    let mut w: Pin<Box<dyn Future<Output = _>>> = if mode >= 2 {
                        Box::pin(b.acquire_within(&timer, max_wait))
                    } else {
                        Box::pin(b.acquire())
                    };
                    match poll_once(w.as_mut(), &Waker::from(flag.clone())) {
                        Poll::Ready(r) => {
                            check(&r, closed);
                            if r.is_ok() && mode != 1 {
                                assert!(
                                    waiters.iter().all(|w| w.1.is_woken()),
                                    "a newcomer took a permit past a parked waiter"
                                );
                            }
                            held.extend(r.ok());
                        }
                        Poll::Pending => {
                            waiters.push((w, flag, arrivals));
                        }
                    }
                    arrivals += 1;
                }
                6..=9 => {
                    for (_, r) in poll_woken(&mut waiters) {
                        check(&r, closed);
                        held.extend(r.ok());
                    }
                }
                10..=11 if !waiters.is_empty() => {
                    let i = rng.below(waiters.len());
                    drop(waiters.remove(i));
                }
                12..=15 if !held.is_empty() => {
                    let i = rng.below(held.len());
                    drop(held.swap_remove(i));
                }
                16..=18 => timer.advance(Duration::from_millis(rng.below(3000) as u64)),
                19 if rng.below(8) == 0 => {
                    b.close();
                    closed = true;
                }
                _ => {}
            }
            assert!(held.len() <= limit, "more permits held than the limit");
            let m = b.metrics();
            // Permits held, plus any handed to a woken waiter that has not run yet.
            let woken = waiters.iter().filter(|w| w.1.is_woken()).count();
            assert!(m.in_flight >= held.len() && m.in_flight <= held.len() + woken);
            assert!(m.in_flight <= limit);
            // A waiter handed a permit no longer counts as waiting; one whose time ran out
            // still does until it runs.
            assert!(m.waiting >= waiters.len() - woken && m.waiting <= waiters.len());
            assert!(m.high_water <= limit);
        }

        // Quiescence with the permits still held: once every woken waiter has run, no waiter
        // is parked next to a free permit.
        loop {
            let outcomes = poll_woken(&mut waiters);
            if outcomes.is_empty() {
                break;
            }
            for (_, r) in outcomes {
                check(&r, closed);
                held.extend(r.ok());
            }
        }
        if !waiters.is_empty() && !closed {
            assert_eq!(
                b.semaphore.available_permits(),
                0,
                "a waiter is parked next to a free permit"
            );
        }

        // Finish all work, then let the waiters run to the end, polling only those woken.
        held.clear();
        while !waiters.is_empty() {
            let outcomes = poll_woken(&mut waiters);
            let progressed = !outcomes.is_empty();
            for (_, r) in outcomes {
                check(&r, closed);
                assert!(b.metrics().in_flight <= limit);
            }
            if !progressed && timer.advance_to_next().is_none() {
                panic!(
                    "lost wake-up: {} waiters parked, none woken, permits free",
                    waiters.len()
                );
            }
        }
        let m = b.metrics();
        assert_eq!((m.in_flight, m.waiting), (0, 0));
        assert_eq!(timer.sleepers(), 0, "a bounded wait left its sleep behind");
        if closed {
            assert_eq!(b.semaphore.available_permits(), limit, "a permit leaked");
            assert_eq!(b.try_acquire().unwrap_err(), Rejected::Closed);
        } else {
            assert_eq!(b.semaphore.available_permits(), limit, "a permit leaked");
            let all: Vec<_> = (0..limit).map(|_| b.try_acquire().unwrap()).collect();
            assert_eq!(b.try_acquire().unwrap_err(), Rejected::Full);
            drop(all);
        }
    }

    #[test]
    fn random_schedules_keep_the_limit_fifo_and_leak_nothing() {
        for seed in 0..schedules(10_000) {
            one_schedule(&mut Rng::new(seed));
        }
    }
}

/// `run` under random schedules of callers cancelled while waiting or mid-work: never more
/// than the limit at once, the work of a cancelled call is dropped before its permit is
/// released, and at quiescence every caller has finished (none parked next to a free permit)
/// and every permit is back.
#[cfg(feature = "alloc")]
#[test]
fn random_schedules_of_run_keep_the_limit_and_return_every_permit() {
    use crate::test_util::schedule::{Sim, yield_n};
    use crate::test_util::schedules;
    use core::cell::Cell;

    struct Running<'a>(&'a Cell<usize>);
    impl Drop for Running<'_> {
        fn drop(&mut self) {
            self.0.set(self.0.get() - 1);
        }
    }

    let mut cancelled = 0;
    for seed in 0..schedules(10_000) {
        let limit = (seed % 3) as usize + 1;
        let b = Bulkhead::new(limit);
        let running = Cell::new(0usize);
        let finished = Cell::new(0usize);
        let mut sim = Sim::new(seed, 120);
        let callers = sim.rng.below(8) + 1;
        for _ in 0..callers {
            let steps = sim.rng.below(4) as u64;
            let (b, running, finished) = (&b, &running, &finished);
            sim.spawn(
                async move {
                    let out = b
                        .run(async move {
                            running.set(running.get() + 1);
                            let _running = Running(running);
                            assert!(running.get() <= limit, "seed {seed}: over the limit");
                            assert!(b.metrics().in_flight >= running.get());
                            yield_n(steps).await;
                        })
                        .await;
                    assert_eq!(out, Ok(()));
                    finished.set(finished.get() + 1);
                },
                true,
            );
        }
        sim.run(usize::MAX);
        assert_eq!(
            sim.live(),
            (0, 0),
            "seed {seed}: a caller parked next to a free permit"
        );
        assert_eq!(finished.get() + sim.cancelled, callers, "seed {seed}");
        cancelled += sim.cancelled;
        drop(sim);
        assert_eq!(running.get(), 0, "seed {seed}");
        let m = b.metrics();
        assert_eq!((m.in_flight, m.waiting), (0, 0), "seed {seed}");
        assert_eq!(
            b.semaphore.available_permits(),
            limit,
            "seed {seed}: a permit leaked"
        );
    }
    assert!(
        cancelled as u64 > schedules(10_000) / 10,
        "cancellations were exercised"
    );
}

#[cfg(feature = "alloc")]
#[test]
fn try_admit_owned_waits_uncounted_and_refuses_as_the_settings_say() {
    use alloc::sync::Arc;
    let waits = Arc::new(Bulkhead::new(1));
    let held = waits.try_admit_owned().unwrap().expect("a free permit");
    assert!(
        waits.try_admit_owned().unwrap().is_none(),
        "full: the caller may wait"
    );
    assert_eq!(
        waits.metrics().rejected(),
        0,
        "a caller that may wait is no rejection"
    );
    drop(held);
    assert_eq!(waits.metrics().in_flight, 0);

    let rejects = Arc::new(Bulkhead::builder(1).reject_when_full().build().unwrap());
    let _held = rejects.try_admit_owned().unwrap().unwrap();
    assert_eq!(rejects.try_admit_owned().unwrap_err(), Rejected::Full);
    assert_eq!(rejects.metrics().rejected_full, 1);

    waits.close();
    assert_eq!(waits.try_admit_owned().unwrap_err(), Rejected::Closed);
}
