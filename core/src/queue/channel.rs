//! The queue's machinery, over any buffer: two FIFO semaphores (free slots, queued items) and a
//! buffer under a lock. [`BoundedQueue`](super::BoundedQueue) keeps its items in place; the
//! spawned pools keep theirs in a `VecDeque` that grows as items arrive.

use crate::sync::Semaphore;
use crate::sync::TryAcquireError;
use maitake_sync::blocking::Mutex;

use super::{Closed, TryRecvError, TrySendError};

/// A first-in first-out buffer the channel keeps its items in.
pub(crate) trait Buf<T> {
    fn push_back(&mut self, item: T) -> Result<(), T>;
    fn pop_front(&mut self) -> Option<T>;
    fn len(&self) -> usize;
    /// Takes every item out, oldest first, leaving the buffer empty.
    fn take_all(&mut self) -> Self;
}

impl<T, const N: usize> Buf<T> for heapless::Deque<T, N> {
    fn push_back(&mut self, item: T) -> Result<(), T> {
        heapless::Deque::push_back(self, item)
    }
    fn pop_front(&mut self) -> Option<T> {
        heapless::Deque::pop_front(self)
    }
    fn len(&self) -> usize {
        heapless::Deque::len(self)
    }
    fn take_all(&mut self) -> Self {
        core::mem::replace(self, heapless::Deque::new())
    }
}

#[cfg(feature = "alloc")]
impl<T> Buf<T> for alloc::collections::VecDeque<T> {
    fn push_back(&mut self, item: T) -> Result<(), T> {
        alloc::collections::VecDeque::push_back(self, item);
        Ok(())
    }
    fn pop_front(&mut self) -> Option<T> {
        alloc::collections::VecDeque::pop_front(self)
    }
    fn len(&self) -> usize {
        alloc::collections::VecDeque::len(self)
    }
    fn take_all(&mut self) -> Self {
        core::mem::take(self)
    }
}

pub(crate) struct State<B> {
    pub(crate) buf: B,
    pub(crate) closed: bool,
}

/// A bounded, closeable MPMC channel of `capacity` items kept in `B`.
///
/// Waiting producers are granted free slots, and waiting consumers queued items, in the order
/// they started waiting: a slot freed while producers wait goes to the first of them, and a
/// `try_send` arriving meanwhile finds no slot (it does not barge past a waiter).
pub(crate) struct Channel<B> {
    /// Free slots: a producer takes one before it pushes.
    pub(crate) slots: Semaphore,
    /// Queued items: a consumer takes one before it pops.
    items: Semaphore,
    pub(crate) state: Mutex<State<B>>,
    #[cfg_attr(not(feature = "alloc"), allow(dead_code))]
    capacity: usize,
}

impl<B> Channel<B> {
    crate::loom::loom_const_fn! {
        /// An open channel of `capacity` slots (at most [`Semaphore::MAX_PERMITS`]) over an
        /// empty buffer.
        pub(crate) fn new(capacity: usize, buf: B) -> Self {
            Channel {
                slots: Semaphore::new(capacity),
                items: Semaphore::new(0),
                state: Mutex::new(State { buf, closed: false }),
                capacity,
            }
        }
    }

    /// The most capacity a channel can have.
    #[cfg_attr(not(feature = "alloc"), allow(dead_code))]
    pub(crate) const MAX_CAPACITY: usize = Semaphore::MAX_PERMITS;

    #[cfg_attr(not(feature = "alloc"), allow(dead_code))]
    pub(crate) const fn capacity(&self) -> usize {
        self.capacity
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.state.with_lock(|s| s.closed)
    }

    pub(crate) fn len<T>(&self) -> usize
    where
        B: Buf<T>,
    {
        self.state.with_lock(|s| s.buf.len())
    }

    pub(crate) async fn send<T>(&self, item: T) -> Result<(), Closed<T>>
    where
        B: Buf<T>,
    {
        match self.slots.acquire(1).await {
            Ok(permit) => {
                self.push(item)?;
                permit.forget();
                Ok(())
            }
            Err(_) => Err(Closed(item)),
        }
    }

    pub(crate) fn try_send<T>(&self, item: T) -> Result<(), TrySendError<T>>
    where
        B: Buf<T>,
    {
        match self.slots.try_acquire(1) {
            Ok(permit) => {
                self.push(item)
                    .map_err(|Closed(item)| TrySendError::Closed(item))?;
                permit.forget();
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

    /// Pushes under the lock, unless closed, and adds the item's permit before the lock goes:
    /// whoever then sees the buffer non-empty can take the item. Only called with a slot
    /// held, so the buffer has room.
    fn push<T>(&self, item: T) -> Result<(), Closed<T>>
    where
        B: Buf<T>,
    {
        self.state.with_lock(|s| {
            if s.closed {
                return Err(Closed(item));
            }
            // A slot is held: there is room. Should that ever fail, the item goes back to the
            // caller as if the channel were closed, rather than being lost.
            s.buf.push_back(item).map_err(Closed)?;
            self.items.add_permits(1);
            Ok(())
        })
    }

    pub(crate) async fn recv<T>(&self) -> Option<T>
    where
        B: Buf<T>,
    {
        loop {
            match self.items.acquire(1).await {
                Ok(permit) => {
                    permit.forget();
                    if let Some(item) = self.pop() {
                        return Some(item);
                    }
                    // Taken by `shutdown` or by a consumer draining after close.
                    if self.is_closed() {
                        return None;
                    }
                }
                // Closed: drain what is left without permits.
                Err(_) => return self.pop(),
            }
        }
    }

    pub(crate) fn try_recv<T>(&self) -> Result<T, TryRecvError>
    where
        B: Buf<T>,
    {
        match self.items.try_acquire(1) {
            Ok(permit) => {
                permit.forget();
                self.pop().ok_or(TryRecvError::Closed)
            }
            Err(TryAcquireError::Closed) => self.pop().ok_or(TryRecvError::Closed),
            Err(_) => Err(TryRecvError::Empty),
        }
    }

    /// Pops under the lock and frees the item's slot before the lock goes: whoever then sees
    /// the buffer with room can fill it.
    fn pop<T>(&self) -> Option<T>
    where
        B: Buf<T>,
    {
        self.state.with_lock(|s| {
            let item = s.buf.pop_front();
            if item.is_some() {
                self.slots.add_permits(1);
            }
            item
        })
    }

    pub(crate) fn close(&self) {
        self.state.with_lock(|s| s.closed = true);
        self.slots.close();
        self.items.close();
    }

    /// Closes the channel and takes every queued item, oldest first.
    pub(crate) fn shutdown<T>(&self) -> B
    where
        B: Buf<T>,
    {
        let buf = self.state.with_lock(|s| {
            s.closed = true;
            s.buf.take_all()
        });
        self.slots.close();
        self.items.close();
        buf
    }
}
