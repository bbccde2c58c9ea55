//! The queue's errors: each hands the item back.

use core::fmt;

/// The queue is closed: the item is handed back.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
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

/// Why [`try_send`](super::BoundedQueue::try_send) did not queue an item; the item is handed back.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
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

/// Why [`try_recv`](super::BoundedQueue::try_recv) returned no item.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
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
