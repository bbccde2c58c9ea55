//! A bounded, closeable, multi-producer multi-consumer queue with fixed capacity and no heap.
//!
//! [`BoundedQueue<T, N>`](BoundedQueue) holds at most `N` items in place (a `const` generic,
//! checked at compile time to be at least 1), so it can live in a `static` on firmware. It is
//! the queue under the spawn-free [worker pool](crate::pool::FixedPool), and is useful on its
//! own.
//!
//! - [`send`](BoundedQueue::send) waits while the queue is full (backpressure);
//!   [`try_send`](BoundedQueue::try_send) hands the item back when full or closed.
//! - [`recv`](BoundedQueue::recv) waits while the queue is empty and returns `None` once the
//!   queue is closed **and** empty: closing stops intake, what is queued is still delivered.
//! - [`shutdown`](BoundedQueue::shutdown) closes and takes every queued item back
//!   at once, for an immediate shutdown.
//!
//! # Fairness and cancellation
//!
//! Waiting producers are granted free slots, and waiting consumers queued items, in the order
//! they started waiting (FIFO). Both sides wait on FIFO semaphores, so a waiter that
//! is granted a slot or an item and then dropped before it runs hands the grant to the next
//! waiter: nobody is left asleep next to a free slot or a queued item. An item moves into or
//! out of the queue in the same poll that its grant is taken, so dropping a `send` or `recv`
//! future never loses an item: a dropped `send` drops (only) the item it owned, a dropped
//! `recv` leaves the item queued.
//!
//! Runnable example: `cargo run -p steadfast-smol --example fixed_pool` (the spawn-free pool over
//! this queue, in virtual time).
//!
//! # Example
//!
//! ```
//! use steadfast::queue::{BoundedQueue, TrySendError};
//!
//! static QUEUE: BoundedQueue<u32, 2> = BoundedQueue::new();
//!
//! futures_executor::block_on(async {
//!     QUEUE.send(1).await.unwrap();
//!     QUEUE.try_send(2).unwrap();
//!     assert_eq!(QUEUE.try_send(3), Err(TrySendError::Full(3)));
//!     assert_eq!(QUEUE.recv().await, Some(1));
//!     QUEUE.close();
//!     assert_eq!(QUEUE.try_send(4), Err(TrySendError::Closed(4)));
//!     assert_eq!(QUEUE.recv().await, Some(2)); // closing drains
//!     assert_eq!(QUEUE.recv().await, None);
//! });
//! ```

mod channel;
mod error;

use core::fmt;

use heapless::Deque;

use crate::loom::loom_const_fn;
pub(crate) use channel::Channel;
pub use error::{Closed, TryRecvError, TrySendError};

/// A bounded MPMC queue of at most `N` items, with no heap. See the [module docs](self).
pub struct BoundedQueue<T, const N: usize> {
    pub(crate) chan: Channel<Deque<T, N>>,
}

impl<T, const N: usize> BoundedQueue<T, N> {
    const CAPACITY_IS_NOT_ZERO: () =
        assert!(N > 0, "a BoundedQueue needs a capacity of at least 1");

    loom_const_fn! {
        /// An empty, open queue of capacity `N`. A capacity of 0 is a compile-time error.
        #[must_use]
        pub fn new() -> Self {
            let () = Self::CAPACITY_IS_NOT_ZERO;
            BoundedQueue {
                chan: Channel::new(N, Deque::new()),
            }
        }
    }

    /// The capacity, `N`.
    #[must_use]
    pub const fn capacity(&self) -> usize {
        N
    }

    /// How many items are queued now.
    #[must_use]
    pub fn len(&self) -> usize {
        self.chan.len::<T>()
    }

    /// Whether no item is queued now.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether the queue was [closed](Self::close).
    #[must_use]
    pub fn is_closed(&self) -> bool {
        self.chan.is_closed()
    }

    /// Queues `item`, waiting while the queue is full. Gives the item back in [`Closed`] if
    /// the queue is closed, or closes while this waits.
    ///
    /// Cancel-safe: dropping the future before it completes drops `item` and leaves the queue
    /// as it was; a slot granted to it passes to the next waiting producer.
    pub async fn send(&self, item: T) -> Result<(), Closed<T>> {
        self.chan.send(item).await
    }

    /// Queues `item` if there is room now; otherwise gives it back, telling full from closed.
    /// A slot freed while producers wait belongs to the first of them: `try_send` does not
    /// take it (first come, first served).
    pub fn try_send(&self, item: T) -> Result<(), TrySendError<T>> {
        self.chan.try_send(item)
    }

    /// The oldest queued item, waiting while the queue is empty. `None` once the queue is
    /// closed and empty.
    ///
    /// Cancel-safe: dropping the future leaves every item queued; an item granted to it
    /// passes to the next waiting consumer.
    pub async fn recv(&self) -> Option<T> {
        self.chan.recv().await
    }

    /// The oldest queued item, if one is queued now.
    pub fn try_recv(&self) -> Result<T, TryRecvError> {
        self.chan.try_recv()
    }

    /// Stops intake: later sends fail, waiting producers get their items back, consumers
    /// receive what is queued and then `None`. Idempotent.
    pub fn close(&self) {
        self.chan.close();
    }

    /// Closes the queue and takes every queued item, oldest first. Items a consumer already
    /// received are not included.
    pub fn shutdown(&self) -> Drain<T, N> {
        Drain(self.chan.shutdown())
    }
}

impl<T, const N: usize> Default for BoundedQueue<T, N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T, const N: usize> fmt::Debug for BoundedQueue<T, N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (len, closed) = self.chan.state.with_lock(|s| (s.buf.len(), s.closed));
        f.debug_struct("BoundedQueue")
            .field("len", &len)
            .field("capacity", &N)
            .field("closed", &closed)
            .finish()
    }
}

/// Items taken back from a queue, oldest first: the result of
/// [`shutdown`](BoundedQueue::shutdown) and of
/// [`FixedPool::shutdown`](crate::pool::FixedPool::shutdown). Owns its items; dropping it drops
/// them.
#[must_use = "these items were taken back from the queue; dropping them loses them"]
pub struct Drain<T, const N: usize>(Deque<T, N>);

impl<T, const N: usize> Drain<T, N> {
    /// How many items are left.
    #[must_use]
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether no item is left.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl<T, const N: usize> Iterator for Drain<T, N> {
    type Item = T;
    fn next(&mut self) -> Option<T> {
        self.0.pop_front()
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.0.len(), Some(self.0.len()))
    }
}

impl<T, const N: usize> ExactSizeIterator for Drain<T, N> {}

impl<T: fmt::Debug, const N: usize> fmt::Debug for Drain<T, N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.0.iter()).finish()
    }
}

#[cfg(all(test, not(loom)))]
mod tests;
