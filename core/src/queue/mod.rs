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
//! - [`close_and_take`](BoundedQueue::close_and_take) closes and takes every queued item back
//!   at once, for an immediate shutdown.
//!
//! # Fairness and cancellation
//!
//! Waiting producers are granted free slots, and waiting consumers queued items, in the order
//! they started waiting (FIFO). Both sides wait on `maitake-sync` semaphores, so a waiter that
//! is granted a slot or an item and then dropped before it runs hands the grant to the next
//! waiter: nobody is left asleep next to a free slot or a queued item. An item moves into or
//! out of the queue in the same poll that its grant is taken, so dropping a `send` or `recv`
//! future never loses an item: a dropped `send` drops (only) the item it owned, a dropped
//! `recv` leaves the item queued.
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

use core::fmt;

use heapless::Deque;
use maitake_sync::Semaphore;
use maitake_sync::blocking::Mutex;
use maitake_sync::semaphore::TryAcquireError;

use crate::loom::loom_const_fn;

/// A bounded MPMC queue of at most `N` items, with no heap. See the [module docs](self).
pub struct BoundedQueue<T, const N: usize> {
    /// Free slots: a producer takes one before it pushes.
    slots: Semaphore,
    /// Queued items: a consumer takes one before it pops.
    items: Semaphore,
    state: Mutex<State<T, N>>,
}

struct State<T, const N: usize> {
    buf: Deque<T, N>,
    closed: bool,
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
                slots: Semaphore::new(N),
                items: Semaphore::new(0),
                state: Mutex::new(State {
                    buf: Deque::new(),
                    closed: false,
                }),
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
        self.state.with_lock(|s| s.buf.len())
    }

    /// Whether no item is queued now.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether the queue was [closed](Self::close).
    #[must_use]
    pub fn is_closed(&self) -> bool {
        self.state.with_lock(|s| s.closed)
    }

    /// Queues `item`, waiting while the queue is full. Gives the item back in [`Closed`] if
    /// the queue is closed, or closes while this waits.
    ///
    /// Cancel-safe: dropping the future before it completes drops `item` and leaves the queue
    /// as it was; a slot granted to it passes to the next waiting producer.
    pub async fn send(&self, item: T) -> Result<(), Closed<T>> {
        match self.slots.acquire(1).await {
            Ok(permit) => {
                self.push(item)?;
                permit.forget();
                self.items.add_permits(1);
                Ok(())
            }
            Err(_) => Err(Closed(item)),
        }
    }

    /// Queues `item` if there is room now; otherwise gives it back, telling full from closed.
    pub fn try_send(&self, item: T) -> Result<(), TrySendError<T>> {
        match self.slots.try_acquire(1) {
            Ok(permit) => {
                self.push(item)
                    .map_err(|Closed(item)| TrySendError::Closed(item))?;
                permit.forget();
                self.items.add_permits(1);
                Ok(())
            }
            Err(TryAcquireError::Closed) => Err(TrySendError::Closed(item)),
            Err(_) => {
                if self.is_closed() {
                    Err(TrySendError::Closed(item))
                } else {
                    Err(TrySendError::Full(item))
                }
            }
        }
    }

    /// Pushes under the lock, unless closed. Only called with a slot held, so the buffer has
    /// room.
    fn push(&self, item: T) -> Result<(), Closed<T>> {
        self.state.with_lock(|s| {
            if s.closed {
                return Err(Closed(item));
            }
            // A slot is held: there is room. Should that ever fail, the item goes back to the
            // caller as if the queue were closed, rather than being lost.
            s.buf.push_back(item).map_err(Closed)
        })
    }

    /// The oldest queued item, waiting while the queue is empty. `None` once the queue is
    /// closed and empty.
    ///
    /// Cancel-safe: dropping the future leaves every item queued; an item granted to it
    /// passes to the next waiting consumer.
    pub async fn recv(&self) -> Option<T> {
        loop {
            match self.items.acquire(1).await {
                Ok(permit) => {
                    permit.forget();
                    if let Some(item) = self.pop() {
                        return Some(item);
                    }
                    // Taken by `close_and_take` or by a consumer draining after close.
                    if self.is_closed() {
                        return None;
                    }
                }
                // Closed: drain what is left without permits.
                Err(_) => return self.pop(),
            }
        }
    }

    /// The oldest queued item, if one is queued now.
    pub fn try_recv(&self) -> Result<T, TryRecvError> {
        match self.items.try_acquire(1) {
            Ok(permit) => {
                permit.forget();
                self.pop().ok_or(TryRecvError::Closed)
            }
            Err(TryAcquireError::Closed) => self.pop().ok_or(TryRecvError::Closed),
            Err(_) => Err(TryRecvError::Empty),
        }
    }

    fn pop(&self) -> Option<T> {
        let item = self.state.with_lock(|s| s.buf.pop_front());
        if item.is_some() {
            self.slots.add_permits(1);
        }
        item
    }

    /// Stops intake: later sends fail, waiting producers get their items back, consumers
    /// receive what is queued and then `None`. Idempotent.
    pub fn close(&self) {
        self.state.with_lock(|s| s.closed = true);
        self.slots.close();
        self.items.close();
    }

    /// Closes the queue and takes every queued item, oldest first. Items a consumer already
    /// received are not included.
    pub fn close_and_take(&self) -> Drain<T, N> {
        let buf = self.state.with_lock(|s| {
            s.closed = true;
            core::mem::replace(&mut s.buf, Deque::new())
        });
        self.slots.close();
        self.items.close();
        Drain(buf)
    }
}

impl<T, const N: usize> Default for BoundedQueue<T, N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T, const N: usize> fmt::Debug for BoundedQueue<T, N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (len, closed) = self.state.with_lock(|s| (s.buf.len(), s.closed));
        f.debug_struct("BoundedQueue")
            .field("len", &len)
            .field("capacity", &N)
            .field("closed", &closed)
            .finish()
    }
}

/// Items taken back from a queue, oldest first: the result of
/// [`close_and_take`](BoundedQueue::close_and_take) and of
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

/// The queue is closed: the item is handed back.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Closed<T>(pub T);

impl<T> Closed<T> {
    /// The item that was not queued.
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> fmt::Debug for Closed<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Closed(..)")
    }
}

impl<T> fmt::Display for Closed<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("queue closed")
    }
}

impl<T> core::error::Error for Closed<T> {}

/// Why [`try_send`](BoundedQueue::try_send) did not queue an item; the item is handed back.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub enum TrySendError<T> {
    /// Every slot is taken.
    Full(T),
    /// The queue is closed.
    Closed(T),
}

impl<T> TrySendError<T> {
    /// The item that was not queued.
    pub fn into_inner(self) -> T {
        match self {
            TrySendError::Full(t) | TrySendError::Closed(t) => t,
        }
    }

    /// Whether the queue was full (as opposed to closed).
    pub fn is_full(&self) -> bool {
        matches!(self, TrySendError::Full(_))
    }
}

impl<T> fmt::Debug for TrySendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TrySendError::Full(_) => f.write_str("Full(..)"),
            TrySendError::Closed(_) => f.write_str("Closed(..)"),
        }
    }
}

impl<T> fmt::Display for TrySendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TrySendError::Full(_) => f.write_str("queue full"),
            TrySendError::Closed(_) => f.write_str("queue closed"),
        }
    }
}

impl<T> core::error::Error for TrySendError<T> {}

/// Why [`try_recv`](BoundedQueue::try_recv) returned no item.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TryRecvError {
    /// Nothing is queued now.
    Empty,
    /// The queue is closed and nothing is left.
    Closed,
}

impl fmt::Display for TryRecvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TryRecvError::Empty => f.write_str("queue empty"),
            TryRecvError::Closed => f.write_str("queue closed and empty"),
        }
    }
}

impl core::error::Error for TryRecvError {}

#[cfg(all(test, not(loom)))]
mod tests;
