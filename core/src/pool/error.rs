//! Why an item produced no output.

use core::fmt;

use crate::Panicked;

/// Why an accepted item produced no output. Reported for that item only; the pool goes on.
///
/// Every pool form reports it, with or without a heap: in a [`Completion`](super::Completion)
/// of a `WorkerPool`, to the handler of a `DetachedPool`, to the `report` callback of a
/// [`FixedPool`](super::FixedPool) driver. It is its own type rather than
/// [`JoinError`](crate::JoinError) because the spawn-free pool has no tasks to join, and exists
/// without the `alloc` feature.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum WorkError {
    /// The work panicked (caught with the `std` feature; see the [module docs](super)).
    Panicked(Panicked),
    /// The item's run ended without an output: it was handed back by a `shutdown` before it
    /// started (only a `WorkerPool` handle sees that), or the worker running it was dropped
    /// (a [`FixedPool`](super::FixedPool) driver dropped, a runtime shutting down).
    Cancelled,
}

impl WorkError {
    /// Whether the work panicked.
    #[must_use]
    pub fn is_panic(&self) -> bool {
        matches!(self, WorkError::Panicked(_))
    }

    /// Whether the item's run ended without an output for a reason other than a panic.
    #[must_use]
    pub fn is_cancelled(&self) -> bool {
        matches!(self, WorkError::Cancelled)
    }

    /// The panic's message, when the work panicked with one.
    #[must_use]
    pub fn panic_message(&self) -> Option<&str> {
        match self {
            WorkError::Panicked(p) => p.message(),
            WorkError::Cancelled => None,
        }
    }
}

#[cfg(feature = "alloc")]
impl From<crate::JoinError> for WorkError {
    fn from(e: crate::JoinError) -> Self {
        match e {
            crate::JoinError::Panicked(p) => WorkError::Panicked(p),
            _ => WorkError::Cancelled,
        }
    }
}

impl fmt::Debug for WorkError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WorkError::Panicked(p) => f.debug_tuple("Panicked").field(p).finish(),
            WorkError::Cancelled => f.write_str("Cancelled"),
        }
    }
}

/// The panic's message is the [`source`](core::error::Error::source), not repeated here.
impl fmt::Display for WorkError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WorkError::Panicked(_) => f.write_str("pool work panicked"),
            WorkError::Cancelled => f.write_str("pool work was cancelled before it finished"),
        }
    }
}

impl core::error::Error for WorkError {
    fn source(&self) -> Option<&(dyn core::error::Error + 'static)> {
        match self {
            WorkError::Panicked(p) => Some(p),
            WorkError::Cancelled => None,
        }
    }
}
