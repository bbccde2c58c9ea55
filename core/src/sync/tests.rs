use core::pin::{Pin, pin};
use core::task::{Context, Poll, Waker};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::task::Wake;
use std::vec::Vec;

use super::{Acquire, AcquireError, Permit, Semaphore, TryAcquireError};

/// A waker that counts its wakes.
#[derive(Default)]
struct Count(AtomicUsize);

impl Wake for Count {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, SeqCst);
    }
}

fn counting() -> (Arc<Count>, Waker) {
    let count = Arc::new(Count::default());
    (count.clone(), Waker::from(count))
}

type Outcome<'a> = Poll<Result<Permit<'a>, AcquireError>>;

fn poll<'a>(acquire: Pin<&mut Acquire<'a>>, waker: &Waker) -> Outcome<'a> {
    acquire.poll(&mut Context::from_waker(waker))
}

fn poll_noop<'a>(acquire: Pin<&mut Acquire<'a>>) -> Outcome<'a> {
    poll(acquire, Waker::noop())
}

#[test]
fn permits_come_and_go_without_waiters() {
    let s = Semaphore::new(3);
    let a = s.try_acquire(2).unwrap();
    assert_eq!(s.available_permits(), 1);
    assert_eq!(
        s.try_acquire(2).unwrap_err(),
        TryAcquireError::InsufficientPermits
    );
    drop(a);
    assert_eq!(s.available_permits(), 3);
    s.try_acquire(1).unwrap().forget();
    assert_eq!(s.available_permits(), 2);
    let Poll::Ready(Ok(p)) = poll_noop(pin!(s.acquire(2))) else {
        panic!("free permits are taken at once");
    };
    assert_eq!((s.available_permits(), s.waiting()), (0, 0));
    drop(p);
    assert_eq!(s.available_permits(), 2);
}

#[test]
fn adding_permits_saturates() {
    let s = Semaphore::new(Semaphore::MAX_PERMITS - 1);
    s.add_permits(5);
    assert_eq!(s.available_permits(), Semaphore::MAX_PERMITS);
    s.add_permits(usize::MAX);
    assert_eq!(s.available_permits(), Semaphore::MAX_PERMITS);
    assert!(!s.is_closed());
}

#[test]
fn waiters_are_handed_permits_in_order_and_woken_once() {
    let s = Semaphore::new(1);
    let held = s.try_acquire(1).unwrap();
    let (counts, wakers): (Vec<_>, Vec<_>) = (0..3).map(|_| counting()).unzip();
    let mut a = pin!(s.acquire(1));
    let mut b = pin!(s.acquire(1));
    let mut c = pin!(s.acquire(1));
    assert!(poll(a.as_mut(), &wakers[0]).is_pending());
    assert!(poll(b.as_mut(), &wakers[1]).is_pending());
    assert!(poll(c.as_mut(), &wakers[2]).is_pending());
    assert_eq!(s.waiting(), 3);

    // Each release wakes the next waiter, and only it; a newcomer finds nothing.
    drop(held);
    let woken = || counts.iter().map(|c| c.0.load(SeqCst)).collect::<Vec<_>>();
    assert_eq!(woken(), [1, 0, 0]);
    assert_eq!((s.waiting(), s.available_permits()), (2, 0));
    assert_eq!(
        s.try_acquire(1).unwrap_err(),
        TryAcquireError::InsufficientPermits
    );
    assert!(poll(c.as_mut(), &wakers[2]).is_pending());
    let Poll::Ready(Ok(pa)) = poll(a.as_mut(), &wakers[0]) else {
        panic!("the oldest waiter goes first");
    };
    drop(pa);
    assert_eq!(woken(), [1, 1, 0]);
    let Poll::Ready(Ok(pb)) = poll(b.as_mut(), &wakers[1]) else {
        panic!("then the next");
    };
    drop(pb);
    assert_eq!(woken(), [1, 1, 1]);
    let Poll::Ready(Ok(pc)) = poll(c.as_mut(), &wakers[2]) else {
        panic!("then the last");
    };
    assert_eq!(s.waiting(), 0);
    // The queue is empty: the permit goes back to the pool, taken without a lock again.
    drop(pc);
    assert_eq!(s.available_permits(), 1);
    assert!(s.try_acquire(1).is_ok());
}

#[test]
fn a_big_request_at_the_head_holds_up_smaller_ones() {
    let s = Semaphore::new(2);
    let mut big = pin!(s.acquire(3));
    let mut small = pin!(s.acquire(1));
    // The head takes the two free permits towards its three.
    assert!(poll_noop(big.as_mut()).is_pending());
    assert_eq!(s.available_permits(), 0);
    assert!(poll_noop(small.as_mut()).is_pending());
    assert!(s.try_acquire(1).is_err());
    // Two more: one completes the head, one goes to the next.
    s.add_permits(2);
    assert_eq!(s.waiting(), 0);
    let Poll::Ready(Ok(big_permit)) = poll_noop(big.as_mut()) else {
        panic!("the head is served first");
    };
    let Poll::Ready(Ok(small_permit)) = poll_noop(small.as_mut()) else {
        panic!("the permit left over goes to the next waiter");
    };
    drop((big_permit, small_permit));
    assert_eq!(s.available_permits(), 4);
}

#[test]
fn a_cancelled_head_hands_its_part_on() {
    let s = Semaphore::new(2);
    let mut small = pin!(s.acquire(1));
    {
        let mut big = pin!(s.acquire(3));
        assert!(poll_noop(big.as_mut()).is_pending());
        assert!(poll_noop(small.as_mut()).is_pending());
        assert_eq!(s.waiting(), 2);
    }
    // The head's two permits: one to the next waiter, one back to the pool.
    assert_eq!((s.waiting(), s.available_permits()), (0, 1));
    assert!(matches!(poll_noop(small.as_mut()), Poll::Ready(Ok(_))));
    assert_eq!(s.available_permits(), 2);
}

#[test]
fn a_cancelled_waiter_leaves_the_others_in_order() {
    let s = Semaphore::new(0);
    let mut a = pin!(s.acquire(1));
    let mut c = pin!(s.acquire(1));
    assert!(poll_noop(a.as_mut()).is_pending());
    {
        let mut b = pin!(s.acquire(1));
        assert!(poll_noop(b.as_mut()).is_pending());
        assert!(poll_noop(c.as_mut()).is_pending());
    }
    assert_eq!(s.waiting(), 2);
    s.add_permits(1);
    assert!(poll_noop(c.as_mut()).is_pending());
    let Poll::Ready(Ok(pa)) = poll_noop(a.as_mut()) else {
        panic!("the head is served first");
    };
    drop(pa);
    assert!(matches!(poll_noop(c.as_mut()), Poll::Ready(Ok(_))));
    assert_eq!((s.waiting(), s.available_permits()), (0, 1));
}

#[test]
fn a_granted_waiter_dropped_before_its_poll_hands_the_permits_on() {
    let s = Semaphore::new(0);
    let (count, waker) = counting();
    let mut next = pin!(s.acquire(1));
    {
        let mut first = pin!(s.acquire(1));
        assert!(poll_noop(first.as_mut()).is_pending());
        assert!(poll(next.as_mut(), &waker).is_pending());
        s.add_permits(1);
        assert_eq!(s.waiting(), 1);
    }
    assert_eq!(count.0.load(SeqCst), 1, "the next waiter is woken");
    assert!(matches!(poll_noop(next.as_mut()), Poll::Ready(Ok(_))));
    // And a granted waiter dropped with nobody behind it gives the permit back.
    {
        let mut only = pin!(s.acquire(1));
        let held = s.try_acquire(1).unwrap();
        assert!(poll_noop(only.as_mut()).is_pending());
        drop(held);
    }
    assert_eq!((s.waiting(), s.available_permits()), (0, 1));
}

#[test]
fn a_waiter_wakes_the_waker_of_its_latest_poll() {
    let s = Semaphore::new(0);
    let (old, old_waker) = counting();
    let (new, new_waker) = counting();
    let mut a = pin!(s.acquire(1));
    assert!(poll(a.as_mut(), &old_waker).is_pending());
    assert!(poll(a.as_mut(), &new_waker).is_pending());
    s.add_permits(1);
    assert_eq!((old.0.load(SeqCst), new.0.load(SeqCst)), (0, 1));
    assert!(matches!(poll_noop(a.as_mut()), Poll::Ready(Ok(_))));
    // Polled after completion: pending, and nothing taken.
    assert!(poll_noop(a.as_mut()).is_pending());
    assert_eq!(s.available_permits(), 1);
}

#[test]
fn close_wakes_every_waiter_and_keeps_count_of_permits() {
    let s = Semaphore::new(3);
    let held = s.try_acquire(2).unwrap();
    let (counts, wakers): (Vec<_>, Vec<_>) = (0..2).map(|_| counting()).unzip();
    let mut a = pin!(s.acquire(2));
    let mut b = pin!(s.acquire(1));
    assert!(poll(a.as_mut(), &wakers[0]).is_pending());
    assert!(poll(b.as_mut(), &wakers[1]).is_pending());
    s.close();
    assert!(s.is_closed());
    assert!(counts.iter().all(|c| c.0.load(SeqCst) == 1));
    assert!(matches!(
        poll_noop(a.as_mut()),
        Poll::Ready(Err(AcquireError::Closed))
    ));
    assert!(matches!(
        poll_noop(b.as_mut()),
        Poll::Ready(Err(AcquireError::Closed))
    ));
    assert_eq!(s.waiting(), 0);
    // The head's part came back; newcomers are refused; held permits still come back.
    assert_eq!(s.available_permits(), 1);
    assert_eq!(s.try_acquire(1).unwrap_err(), TryAcquireError::Closed);
    assert!(matches!(
        poll_noop(pin!(s.acquire(1))),
        Poll::Ready(Err(AcquireError::Closed))
    ));
    drop(held);
    assert_eq!(s.available_permits(), 3);
    s.close();
    assert_eq!(s.try_acquire(1).unwrap_err(), TryAcquireError::Closed);
}

#[test]
fn the_cap_refuses_a_waiter_under_the_lock() {
    let s = Semaphore::new(1);
    let held = s.try_acquire(1).unwrap();
    let mut a = pin!(s.acquire_capped(1, 1));
    assert!(poll_noop(a.as_mut()).is_pending());
    assert!(matches!(
        poll_noop(pin!(s.acquire_capped(1, 1))),
        Poll::Ready(Err(AcquireError::QueueFull))
    ));
    // A free permit is taken whatever the cap.
    drop(held);
    let Poll::Ready(Ok(pa)) = poll_noop(a.as_mut()) else {
        panic!("granted");
    };
    drop(pa);
    assert!(matches!(
        poll_noop(pin!(s.acquire_capped(1, 0))),
        Poll::Ready(Ok(_))
    ));
    assert_eq!(s.waiting(), 0);
}

/// Threads hand one permit around, with waits and cancels: the count is right at the end.
#[test]
fn threads_lose_no_permit() {
    let s = Arc::new(Semaphore::new(2));
    let rounds = if cfg!(miri) { 20 } else { 2_000 };
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let s = s.clone();
            std::thread::spawn(move || {
                for i in 0..rounds {
                    let mut acquire = pin!(s.acquire(1 + (i + t) % 2));
                    if (i + t) % 5 == 0 {
                        // Cancelled after one poll, granted or not.
                        let _ = poll_noop(acquire.as_mut());
                        continue;
                    }
                    let permit = futures_executor::block_on(acquire).unwrap();
                    std::thread::yield_now();
                    drop(permit);
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    assert_eq!((s.available_permits(), s.waiting()), (2, 0));
}
