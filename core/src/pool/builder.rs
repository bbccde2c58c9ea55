//! The builder of the spawned pools.

use core::fmt;
use core::marker::PhantomData;

/// The settings of a spawned pool, `P`: a [`WorkerPool`](super::WorkerPool) or a
/// [`DetachedPool`](super::DetachedPool), from their `builder()`. Ends with `spawn`, which
/// checks the settings and starts the workers.
///
/// Defaults: one worker, a queue of 64 items. The queue grows as items arrive, up to its
/// capacity: a large capacity allocates nothing up front.
#[must_use = "a builder does nothing until `spawn` is called"]
pub struct Builder<P> {
    pub(super) workers: usize,
    pub(super) capacity: usize,
    _pool: PhantomData<fn() -> P>,
}

impl<P> Builder<P> {
    pub(super) const fn new() -> Self {
        Builder {
            workers: 1,
            capacity: 64,
            _pool: PhantomData,
        }
    }

    /// How many worker tasks run items at once; at least 1 (checked by `spawn`).
    pub const fn workers(mut self, workers: usize) -> Self {
        self.workers = workers;
        self
    }

    /// How many items the queue holds at most, not counting those running; at least 1 and
    /// less than `usize::MAX` (checked by `spawn`). A full queue pushes back: `submit` waits,
    /// `try_submit` hands the item back.
    pub const fn capacity(mut self, capacity: usize) -> Self {
        self.capacity = capacity;
        self
    }
}

impl<P> Clone for Builder<P> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<P> Copy for Builder<P> {}

impl<P> fmt::Debug for Builder<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Builder")
            .field("workers", &self.workers)
            .field("capacity", &self.capacity)
            .finish()
    }
}
