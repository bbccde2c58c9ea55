use super::*;
use std::boxed::Box;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::Wake;
use std::vec::Vec;

use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll, Waker};

struct Count(AtomicUsize);
impl Wake for Count {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

fn counter() -> (Arc<Count>, Waker) {
    let c = Arc::new(Count(AtomicUsize::new(0)));
    (c.clone(), Waker::from(c))
}

fn poll<F: Future + ?Sized>(f: Pin<&mut F>, w: &Waker) -> Poll<F::Output> {
    f.poll(&mut Context::from_waker(w))
}

#[test]
fn fifo_backpressure_and_close_drains() {
    let q: BoundedQueue<u32, 2> = BoundedQueue::new();
    assert_eq!(q.capacity(), 2);
    q.try_send(1).unwrap();
    q.try_send(2).unwrap();
    assert!(q.try_send(3).unwrap_err().is_full());
    let (_, w) = counter();
    let mut send = Box::pin(q.send(3));
    assert!(poll(send.as_mut(), &w).is_pending());
    assert_eq!(q.try_recv(), Ok(1));
    assert_eq!(poll(send.as_mut(), &w), Poll::Ready(Ok(())));
    assert_eq!(q.len(), 2);
    q.close();
    assert_eq!(q.try_send(4), Err(TrySendError::Closed(4)));
    assert_eq!(q.try_recv(), Ok(2));
    assert_eq!(q.try_recv(), Ok(3));
    assert_eq!(q.try_recv(), Err(TryRecvError::Closed));
    let mut recv = Box::pin(q.recv());
    assert_eq!(poll(recv.as_mut(), &w), Poll::Ready(None));
}

#[test]
fn close_hands_waiting_producers_their_items_back() {
    let q: BoundedQueue<u32, 1> = BoundedQueue::new();
    q.try_send(1).unwrap();
    let (woken, w) = counter();
    let mut send = Box::pin(q.send(2));
    assert!(poll(send.as_mut(), &w).is_pending());
    q.close();
    assert_eq!(woken.0.load(Ordering::SeqCst), 1);
    match poll(send.as_mut(), &w) {
        Poll::Ready(Err(Closed(2))) => {}
        other => panic!("{other:?}"),
    }
    let undone: Vec<u32> = q.shutdown().collect();
    assert_eq!(undone, [1]);
}

#[test]
fn dropped_head_consumer_passes_its_item_on() {
    let q: BoundedQueue<u32, 4> = BoundedQueue::new();
    let (a_woken, a) = counter();
    let (b_woken, b) = counter();
    let mut first = Box::pin(q.recv());
    let mut second = Box::pin(q.recv());
    assert!(poll(first.as_mut(), &a).is_pending());
    assert!(poll(second.as_mut(), &b).is_pending());
    q.try_send(7).unwrap();
    assert_eq!(
        a_woken.0.load(Ordering::SeqCst),
        1,
        "the head waiter is woken"
    );
    assert_eq!(b_woken.0.load(Ordering::SeqCst), 0);
    drop(first);
    assert_eq!(
        b_woken.0.load(Ordering::SeqCst),
        1,
        "the next waiter inherits the wake-up"
    );
    assert_eq!(poll(second.as_mut(), &b), Poll::Ready(Some(7)));
    assert!(q.is_empty());
}

#[test]
fn dropped_head_producer_passes_its_slot_on() {
    let q: BoundedQueue<u32, 1> = BoundedQueue::new();
    q.try_send(0).unwrap();
    let (a_woken, a) = counter();
    let (b_woken, b) = counter();
    let mut first = Box::pin(q.send(1));
    let mut second = Box::pin(q.send(2));
    assert!(poll(first.as_mut(), &a).is_pending());
    assert!(poll(second.as_mut(), &b).is_pending());
    assert_eq!(q.try_recv(), Ok(0));
    assert_eq!(a_woken.0.load(Ordering::SeqCst), 1);
    assert_eq!(b_woken.0.load(Ordering::SeqCst), 0);
    drop(first);
    assert_eq!(b_woken.0.load(Ordering::SeqCst), 1);
    assert_eq!(poll(second.as_mut(), &b), Poll::Ready(Ok(())));
    assert_eq!(q.try_recv(), Ok(2));
}

#[test]
fn shutdown_returns_exactly_what_is_queued() {
    let q: BoundedQueue<u32, 4> = BoundedQueue::new();
    for i in 0..3 {
        q.try_send(i).unwrap();
    }
    assert_eq!(q.try_recv(), Ok(0));
    let undone = q.shutdown();
    assert_eq!(undone.len(), 2);
    assert_eq!(undone.collect::<Vec<_>>(), [1, 2]);
    assert_eq!(q.try_recv(), Err(TryRecvError::Closed));
    assert!(q.is_closed());
}

/// Random schedules of producers and consumers, either cancelled mid-wait, with a close or a
/// shutdown at a random step: every item sent is received once or taken back, consumers
/// receive in the order items were queued, a `try_send` never takes a slot a waiting producer
/// owns, and at every stall nobody waits next to a free slot or a queued item.
#[test]
fn random_schedules_lose_nothing_and_keep_order() {
    use crate::test_util::schedule::Sim;
    use crate::test_util::schedules;
    use core::cell::{Cell, RefCell};

    struct Count<'a>(&'a Cell<usize>);
    impl Drop for Count<'_> {
        fn drop(&mut self) {
            self.0.set(self.0.get() - 1);
        }
    }
    fn count(c: &Cell<usize>) -> Count<'_> {
        c.set(c.get() + 1);
        Count(c)
    }

    let mut cancellations = 0;
    for seed in 0..schedules(10_000) {
        let q: BoundedQueue<u32, 2> = BoundedQueue::new();
        let sent = RefCell::new(Vec::new());
        let received = RefCell::new(Vec::new());
        let (sending, receiving) = (Cell::new(0), Cell::new(0));
        let barged = Cell::new(false);
        let mut sim = Sim::new(seed, 120);
        for i in 0..8u32 {
            let (q, sent, sending, barged) = (&q, &sent, &sending, &barged);
            if i % 3 == 2 {
                sim.spawn(
                    async move {
                        let room = q.capacity() - q.len();
                        if q.try_send(i).is_ok() {
                            barged.set(barged.get() || sending.get() >= room);
                            sent.borrow_mut().push(i);
                        }
                    },
                    false,
                );
            } else {
                sim.spawn(
                    async move {
                        let _waiting = count(sending);
                        if q.send(i).await.is_ok() {
                            sent.borrow_mut().push(i);
                        }
                    },
                    true,
                );
            }
        }
        for _ in 0..3 {
            let (q, received, receiving) = (&q, &received, &receiving);
            sim.spawn(
                async move {
                    let _waiting = count(receiving);
                    while let Some(i) = q.recv().await {
                        received.borrow_mut().push(i);
                    }
                },
                true,
            );
        }
        let limit = sim.rng.below(80);
        sim.run(limit);
        let mut taken = Vec::new();
        match seed % 3 {
            0 => q.close(),
            1 => taken.extend(q.shutdown()),
            _ => {}
        }
        sim.run(usize::MAX);
        // Stalled: a waiting producer means a full queue, a waiting consumer an empty one.
        assert!(
            sending.get() == 0 || q.len() == 2,
            "seed {seed}: a producer waits by a free slot"
        );
        assert!(
            receiving.get() == 0 || q.is_empty(),
            "seed {seed}: a consumer waits by an item"
        );
        assert!(!barged.get(), "seed {seed}: a try_send barged");
        taken.extend(q.shutdown());
        sim.run(usize::MAX);
        assert_eq!(sim.live(), (0, 0), "seed {seed}");
        cancellations += sim.cancelled;
        drop(sim);
        let sent = sent.take();
        let mut out = received.take();
        // Received in the order sent (those taken back are the newest).
        assert_eq!(out, sent[..out.len()], "seed {seed}: out of order");
        out.extend(taken);
        assert_eq!(out, sent, "seed {seed}: an item was lost or doubled");
    }
    assert!(
        cancellations > schedules(10_000) as usize,
        "cancellations were exercised"
    );
}
