//! Loom models of `steadfast::queue::BoundedQueue`, built from its source file with loom's
//! primitives. Without `--cfg loom` this crate only checks that the module builds on its own.
// The module's test helpers serve the core's own tests, which use more of them.
#![cfg_attr(test, allow(dead_code))]

#[path = "../../../core/src/loom.rs"]
mod loom;
// The semaphore every pattern that waits for permits uses.
#[path = "../../../core/src/sync/mod.rs"]
mod sync;

#[path = "../../../core/src/queue/mod.rs"]
pub mod queue;

#[cfg(all(test, loom))]
#[path = "../../loom-model.rs"]
mod model;

#[cfg(all(test, loom))]
mod models {
    use super::queue::{BoundedQueue, Closed};
    use crate::model::model;
    use core::pin::pin;
    use core::task::{Context, Poll, Waker};
    use loom::future::block_on;
    use loom::sync::Arc;
    use loom::thread;

    /// Two producers race for the one slot while a consumer drains: both items arrive, once.
    #[test]
    fn two_producers_one_slot() {
        model(|| {
            let q: Arc<BoundedQueue<u32, 1>> = Arc::new(BoundedQueue::new());
            let producers: Vec<_> = [1, 2]
                .into_iter()
                .map(|i| {
                    let q = q.clone();
                    thread::spawn(move || block_on(q.send(i)).unwrap())
                })
                .collect();
            let a = block_on(q.recv()).unwrap();
            let b = block_on(q.recv()).unwrap();
            for p in producers {
                p.join().unwrap();
            }
            assert_eq!(a + b, 3);
            assert_ne!(a, b);
            assert!(q.is_empty());
        });
    }

    /// A close racing a waiting producer: the producer either queued its item (and the
    /// consumer drains it) or got it back; never both, never neither.
    #[test]
    fn close_races_a_waiting_producer() {
        model(|| {
            let q: Arc<BoundedQueue<u32, 1>> = Arc::new(BoundedQueue::new());
            q.try_send(1).unwrap();
            let producer = {
                let q = q.clone();
                thread::spawn(move || block_on(q.send(2)))
            };
            let consumer = {
                let q = q.clone();
                thread::spawn(move || block_on(q.recv()))
            };
            q.close();
            let sent = producer.join().unwrap();
            let first = consumer.join().unwrap();
            assert_eq!(first, Some(1));
            let rest: Vec<u32> = core::iter::from_fn(|| q.try_recv().ok()).collect();
            match sent {
                Ok(()) => assert_eq!(rest, [2]),
                Err(Closed(2)) => assert!(rest.is_empty()),
                Err(Closed(other)) => panic!("wrong item back: {other}"),
            }
        });
    }

    /// A consumer that registers and is then dropped, racing a producer: the item is not lost,
    /// a second consumer gets it.
    #[test]
    fn dropped_waiting_consumer_loses_nothing() {
        model(|| {
            let q: Arc<BoundedQueue<u32, 2>> = Arc::new(BoundedQueue::new());
            let dropped = {
                let q = q.clone();
                thread::spawn(move || {
                    let mut recv = pin!(q.recv());
                    let mut cx = Context::from_waker(Waker::noop());
                    match recv.as_mut().poll(&mut cx) {
                        Poll::Ready(item) => item,
                        Poll::Pending => None, // dropped while waiting (or granted)
                    }
                })
            };
            q.try_send(7).unwrap();
            let taken = dropped.join().unwrap();
            let rest = q.try_recv().ok();
            // Exactly one of the two has the item.
            assert_eq!(taken.xor(rest), Some(7));
        });
    }

    /// A consumer taking the only item, racing a producer that looks first: once the queue
    /// reads empty, its slot is free, so a `try_send` then succeeds.
    #[test]
    fn empty_means_room() {
        model(|| {
            let q: Arc<BoundedQueue<u32, 1>> = Arc::new(BoundedQueue::new());
            q.try_send(1).unwrap();
            let consumer = {
                let q = q.clone();
                thread::spawn(move || q.try_recv().unwrap())
            };
            if q.is_empty() {
                q.try_send(2)
                    .expect("the queue reads empty but has no room");
            }
            assert_eq!(consumer.join().unwrap(), 1);
        });
    }

    /// A producer queueing an item, racing a consumer that looks first: once the queue reads
    /// non-empty, `try_recv` then gets the item.
    #[test]
    fn non_empty_means_an_item() {
        model(|| {
            let q: Arc<BoundedQueue<u32, 1>> = Arc::new(BoundedQueue::new());
            let producer = {
                let q = q.clone();
                thread::spawn(move || q.try_send(1).unwrap())
            };
            if !q.is_empty() {
                assert_eq!(
                    q.try_recv()
                        .expect("the queue reads non-empty but gives nothing"),
                    1
                );
            }
            producer.join().unwrap();
        });
    }
}
