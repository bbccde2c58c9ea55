//! The bulkhead's counters and their snapshot.

use super::Rejected;
use crate::loom::{AtomicUsize, Ordering, loom_const_fn};

/// A snapshot of a bulkhead's counters, from [`Bulkhead::metrics`](super::Bulkhead::metrics).
///
/// The counts of rejections wrap around on overflow.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Metrics {
    /// Permits held now.
    pub in_flight: usize,
    /// Callers waiting for a permit now (one handed a permit counts in `in_flight`).
    pub waiting: usize,
    /// The most permits ever held at once.
    pub high_water: usize,
    /// Callers turned away with [`Rejected::Full`] so far.
    pub rejected_full: usize,
    /// Callers turned away with [`Rejected::QueueFull`] so far.
    pub rejected_queue_full: usize,
    /// Callers turned away with [`Rejected::WaitedTooLong`] so far.
    pub rejected_waited_too_long: usize,
    /// Callers turned away with [`Rejected::Closed`] so far.
    pub rejected_closed: usize,
}

impl Metrics {
    /// All rejections so far, whatever the reason (wrapping).
    #[must_use]
    pub fn rejected(&self) -> usize {
        self.rejected_full
            .wrapping_add(self.rejected_queue_full)
            .wrapping_add(self.rejected_waited_too_long)
            .wrapping_add(self.rejected_closed)
    }
}

/// The counters behind [`Metrics`] that the semaphore does not keep.
pub(super) struct Stats {
    pub(super) high_water: AtomicUsize,
    full: AtomicUsize,
    queue_full: AtomicUsize,
    waited_too_long: AtomicUsize,
    closed: AtomicUsize,
}

impl Stats {
    loom_const_fn! {
        pub(super) fn new() -> Self {
            Stats {
                high_water: AtomicUsize::new(0),
                full: AtomicUsize::new(0),
                queue_full: AtomicUsize::new(0),
                waited_too_long: AtomicUsize::new(0),
                closed: AtomicUsize::new(0),
            }
        }
    }

    /// Counts a rejection and returns it.
    pub(super) fn reject(&self, why: Rejected) -> Rejected {
        let counter = match why {
            Rejected::Full => &self.full,
            Rejected::QueueFull => &self.queue_full,
            Rejected::WaitedTooLong => &self.waited_too_long,
            Rejected::Closed => &self.closed,
        };
        counter.fetch_add(1, Ordering::Relaxed);
        why
    }

    /// The snapshot, given the permits in flight and the waiters (read from the semaphore).
    pub(super) fn snapshot(&self, in_flight: usize, waiting: usize) -> Metrics {
        Metrics {
            in_flight,
            waiting,
            high_water: self.high_water.load(Ordering::Relaxed),
            rejected_full: self.full.load(Ordering::Relaxed),
            rejected_queue_full: self.queue_full.load(Ordering::Relaxed),
            rejected_waited_too_long: self.waited_too_long.load(Ordering::Relaxed),
            rejected_closed: self.closed.load(Ordering::Relaxed),
        }
    }
}
