//! Loom models of the core's semaphore (`core/src/sync`), built from its source files with
//! loom's primitives: its state word, its waiters' nodes (loom's `UnsafeCell`, which checks
//! every access to a node's fields against the others) and maitake-sync's lock.
//!
//! Each model ends with the semaphore at rest: every permit back, nobody counted as waiting.
//! A lost wake-up shows as a deadlock, which loom reports.
//!
//! Without `--cfg loom` this crate checks that the modules build on their own.
#![cfg_attr(test, allow(dead_code))]

#[path = "../../../core/src/loom.rs"]
mod loom;
#[path = "../../../core/src/sync/mod.rs"]
mod sync;

#[cfg(all(test, loom))]
#[path = "../../loom-model.rs"]
mod model;

#[cfg(all(test, loom))]
mod models {
    use crate::model::model;
    use crate::sync::{Acquire, AcquireError, Semaphore, TryAcquireError};
    use core::pin::Pin;
    use core::task::{Context, Poll, Waker};
    use loom::cell::UnsafeCell;
    use loom::future::block_on;
    use loom::sync::atomic::{AtomicBool, Ordering::SeqCst};
    use loom::sync::{Arc, mpsc};
    use loom::thread;

    /// A semaphore that outlives the model's threads (loom has no scoped threads).
    fn leaked(permits: usize) -> &'static Semaphore {
        Box::leak(Box::new(Semaphore::new(permits)))
    }

    /// An acquire future queued (polled once, pending) on this thread, ready to move to
    /// another.
    fn queued(s: &'static Semaphore, permits: usize) -> Pin<Box<Acquire<'static>>> {
        let mut acquire = Box::pin(s.acquire(permits));
        let first = acquire
            .as_mut()
            .poll(&mut Context::from_waker(Waker::noop()));
        assert!(first.is_pending(), "no permit is free: the caller queues");
        acquire
    }

    fn at_rest(s: &Semaphore, permits: usize) {
        assert_eq!((s.available_permits(), s.waiting()), (permits, 0));
    }

    /// A queued waiter is dropped while the permit it waits for is released: the grant and
    /// the cancel race under the lock, or the grant lands first and the drop, seeing it
    /// without the lock, hands the permit on. Either way the waiter behind gets the permit.
    #[test]
    fn grant_races_cancel_of_the_waiter() {
        model(|| {
            let s = leaked(1);
            let held = s.try_acquire(1).unwrap();
            let first = queued(s, 1);
            let second = queued(s, 1);
            let canceller = thread::spawn(move || drop(first));
            let releaser = thread::spawn(move || drop(held));
            let served = thread::spawn(move || block_on(second).is_ok());
            canceller.join().unwrap();
            releaser.join().unwrap();
            assert!(served.join().unwrap(), "the waiter behind is served");
            at_rest(s, 1);
        });
    }

    /// A release races a waiter's entry into the queue and a lock-free `try_acquire`: the
    /// permit is taken by one of them, the waiter is woken if it queued, and no permit is
    /// lost or made up.
    #[test]
    fn release_races_acquire() {
        model(|| {
            let s = leaked(1);
            let held = s.try_acquire(1).unwrap();
            let data = Guarded::new();
            let waiter = thread::spawn(move || {
                let permit = block_on(s.acquire(1)).unwrap();
                data.bump();
                drop(permit);
            });
            let tryer = thread::spawn(move || s.try_acquire(1).map(|_permit| data.bump()));
            data.bump();
            drop(held);
            waiter.join().unwrap();
            match tryer.join().unwrap() {
                Ok(()) | Err(TryAcquireError::InsufficientPermits) => {}
                Err(TryAcquireError::Closed) => panic!("never closed"),
            }
            at_rest(s, 1);
        });
    }

    /// Two releases race a request for both permits at the head of the queue, with a
    /// one-permit request behind it: the head collects its two in parts, then the other
    /// waiter is served once the head gives them back.
    #[test]
    fn partial_grants_add_up() {
        model(|| {
            let s = leaked(2);
            let a = s.try_acquire(1).unwrap();
            let b = s.try_acquire(1).unwrap();
            let big = queued(s, 2);
            let small = queued(s, 1);
            let t = thread::spawn(move || drop(a));
            let small = thread::spawn(move || block_on(small).map(drop));
            drop(b);
            t.join().unwrap();
            drop(block_on(big).unwrap());
            small.join().unwrap().unwrap();
            at_rest(s, 2);
        });
    }

    /// `close` races a waiter and the release of the permit it waits for: the waiter gets the
    /// permit (released before the close) or `Closed`, never sleeps on; the permit comes back
    /// either way, and newcomers are refused.
    #[test]
    fn close_races_a_waiter() {
        model(|| {
            let s = leaked(1);
            let held = s.try_acquire(1).unwrap();
            let waiter = thread::spawn(move || block_on(s.acquire(1)).map(drop));
            let closer = thread::spawn(move || s.close());
            drop(held);
            closer.join().unwrap();
            match waiter.join().unwrap() {
                Ok(()) | Err(AcquireError::Closed) => {}
                Err(AcquireError::QueueFull) => panic!("no cap"),
            }
            at_rest(s, 1);
            assert_eq!(s.try_acquire(1).unwrap_err(), TryAcquireError::Closed);
        });
    }

    /// A value guarded by the one permit: each holder's write happens before the next
    /// holder's access (loom's cell checks it), whether the permit went through the queue or
    /// through the lock-free path.
    struct Guarded(UnsafeCell<usize>);

    // SAFETY (test): accessed only by the holder of the semaphore's one permit.
    unsafe impl Sync for Guarded {}

    impl Guarded {
        fn new() -> &'static Self {
            Box::leak(Box::new(Guarded(UnsafeCell::new(0))))
        }

        fn bump(&self) {
            // SAFETY: the caller holds the permit.
            self.0.with_mut(|v| unsafe { *v += 1 });
        }
    }

    /// Two waiters queued in order, on threads of their own, and one permit released: the
    /// older gets it first, the younger only after the older gives it back; each sees the
    /// writes of the holders before it.
    #[test]
    fn fifo_hand_off_of_two_waiters() {
        model(|| {
            let s = leaked(1);
            let data = Guarded::new();
            let held = s.try_acquire(1).unwrap();
            let older_served = Arc::new(AtomicBool::new(false));
            let older = queued(s, 1);
            let younger = queued(s, 1);
            let (tx, rx) = mpsc::channel();
            let a = {
                let served = older_served.clone();
                thread::spawn(move || {
                    let permit = block_on(older).unwrap();
                    data.bump();
                    served.store(true, SeqCst);
                    drop(permit);
                })
            };
            let b = {
                let served = older_served.clone();
                thread::spawn(move || {
                    let permit = block_on(younger).unwrap();
                    data.bump();
                    tx.send(served.load(SeqCst)).unwrap();
                    drop(permit);
                })
            };
            data.bump();
            drop(held);
            a.join().unwrap();
            b.join().unwrap();
            assert!(rx.recv().unwrap(), "the younger waiter went first");
            at_rest(s, 1);
        });
    }

    /// A waiter granted while it re-registers its waker (a second poll with a new waker
    /// racing the release): it is woken, through one waker or the other.
    #[test]
    fn grant_races_a_repoll() {
        model(|| {
            let s = leaked(1);
            let held = s.try_acquire(1).unwrap();
            let mut waiter = queued(s, 1);
            let releaser = thread::spawn(move || drop(held));
            let waker = Waker::noop();
            match waiter.as_mut().poll(&mut Context::from_waker(waker)) {
                Poll::Ready(permit) => drop(permit.unwrap()),
                // Granted since (the next poll sees it), or woken later.
                Poll::Pending => drop(block_on(waiter).unwrap()),
            }
            releaser.join().unwrap();
            at_rest(s, 1);
        });
    }
}
