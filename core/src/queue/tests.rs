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
