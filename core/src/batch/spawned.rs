//! The spawned batcher: flushing in a background task.

use alloc::collections::VecDeque;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::fmt;
use core::future::Future;

use super::{Builder, Inner, Metrics, Store};
use crate::queue::{Closed, TrySendError};
use crate::{ConfigError, Instant, Spawn, Timer};

/// A heap store with a fixed limit.
pub(crate) struct Bounded<T> {
    items: VecDeque<(Instant, T)>,
    capacity: usize,
}

impl<T> Store<T> for Bounded<T> {
    type Batch = Vec<T>;

    fn len(&self) -> usize {
        self.items.len()
    }
    fn push(&mut self, stamp: Instant, item: T) -> Result<(), T> {
        if self.items.len() >= self.capacity {
            return Err(item);
        }
        self.items.push_back((stamp, item));
        Ok(())
    }
    fn first_stamp(&self) -> Option<Instant> {
        self.items.front().map(|(t, _)| *t)
    }
    fn take(&mut self, n: usize) -> Option<Vec<T>> {
        let n = n.min(self.items.len());
        (n > 0).then(|| self.items.drain(..n).map(|(_, item)| item).collect())
    }
}

type Shared<T, Tm> = Inner<T, Tm, Bounded<T>>;

/// Closes the batcher when the last handle goes.
struct Handle<T, Tm: Timer>(Arc<Shared<T, Tm>>);

impl<T, Tm: Timer> Drop for Handle<T, Tm> {
    fn drop(&mut self) {
        self.0.close();
    }
}

/// A batcher whose flushing runs in a background task spawned through [`Spawn`]. See the
/// [module docs](super) for the rule, the semantics and an example.
///
/// Built with [`Batcher::builder`]. Cloning gives another handle to the same batcher. Dropping
/// the last handle closes it: the background task flushes everything held and ends, so
/// nothing is lost. The task's handle, returned by `spawn`, completes after the final flush
/// and reports a panic in the flush function as a [`JoinError`](crate::JoinError).
#[must_use = "dropping the last handle closes the batcher"]
pub struct Batcher<T, Tm: Timer> {
    handle: Arc<Handle<T, Tm>>,
}

impl<T, Tm: Timer> Clone for Batcher<T, Tm> {
    fn clone(&self) -> Self {
        Batcher {
            handle: self.handle.clone(),
        }
    }
}

impl<T, Tm: Timer> fmt::Debug for Batcher<T, Tm> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inner = &self.handle.0;
        let (held, capacity, closed) = inner
            .state
            .with_lock(|s| (s.store.items.len(), inner.capacity, s.closed));
        f.debug_struct("Batcher")
            .field("held", &held)
            .field("capacity", &capacity)
            .field("closed", &closed)
            .field("config", &inner.config)
            .finish()
    }
}

impl<T, Tm: Timer> Batcher<T, Tm> {
    /// The builder: set the batch size, the flush interval and optionally the capacity, then
    /// `spawn` the background flushing.
    pub const fn builder(timer: Tm) -> Builder<Self, Tm> {
        Builder::new(timer)
    }

    /// Submits `item`, waiting while the batcher is full. Hands the item back in [`Closed`]
    /// if the batcher is closed or closes meanwhile. Cancel-safe (see the
    /// [module docs](super)).
    pub async fn submit(&self, item: T) -> Result<(), Closed<T>> {
        self.handle.0.submit(item).await
    }

    /// Submits `item` if there is room now; otherwise hands it back, telling full from
    /// closed. Room freed while producers wait in [`submit`](Self::submit) is theirs:
    /// `try_submit` does not take it.
    pub fn try_submit(&self, item: T) -> Result<(), TrySendError<T>> {
        self.handle.0.try_submit(item)
    }

    /// Stops intake and makes the background task flush everything held at once, then end.
    /// Await the task's handle to know when the final flush is done. Idempotent.
    pub fn close(&self) {
        self.handle.0.close();
    }

    /// Whether the batcher was closed.
    #[must_use]
    pub fn is_closed(&self) -> bool {
        self.handle.0.is_closed()
    }

    /// The counters now: items held and not yet taken into a flush, and the capacity.
    #[must_use]
    pub fn metrics(&self) -> Metrics {
        self.handle.0.metrics()
    }
}

impl<T, Tm> Builder<Batcher<T, Tm>, Tm>
where
    T: Send + 'static,
    Tm: Timer + Send + Sync + 'static,
    Tm::Sleep: Send,
{
    /// How many items the batcher holds at most, counting those not yet taken into a flush;
    /// at least the batch size and less than `usize::MAX`. Default: four batches. The store
    /// grows as items arrive: a large capacity allocates nothing up front.
    pub const fn capacity(mut self, capacity: usize) -> Self {
        self.capacity = Some(capacity);
        self
    }

    /// Spawns the background flushing on `spawner` and returns a handle to submit items
    /// with, and the background task's handle. `flush` is called with each batch, one at a
    /// time, and every `Err` it returns goes to `on_error`.
    ///
    /// # Errors
    ///
    /// [`ConfigError`] naming `batch_size` when it is 0 (or unset), `flush_interval` when it
    /// is zero (or unset), or `capacity` when it is smaller than the batch size or
    /// `usize::MAX`.
    #[allow(clippy::type_complexity)]
    pub fn spawn<S, F, Fut, E, H>(
        self,
        spawner: &S,
        flush: F,
        on_error: H,
    ) -> Result<(Batcher<T, Tm>, S::Handle<()>), ConfigError>
    where
        S: Spawn,
        F: FnMut(Vec<T>) -> Fut + Send + 'static,
        Fut: Future<Output = Result<(), E>> + Send,
        H: FnMut(E) + Send + 'static,
        E: Send,
    {
        let capacity = self
            .capacity
            .unwrap_or(self.config.batch_size.saturating_mul(4));
        self.config.check(capacity)?;
        let store = Bounded {
            items: VecDeque::new(),
            capacity,
        };
        let inner = Arc::new(Inner::new(self.timer, self.config, capacity, store));
        // Should the task end early (a panic in `flush`, or the runtime cancelling it), the
        // guard closes the batcher, so that later submissions get their items back instead
        // of piling up with nobody to flush them.
        let driver = Handle(inner.clone());
        let task = spawner.spawn(async move {
            driver.0.run(flush, on_error).await;
            drop(driver);
        });
        Ok((
            Batcher {
                handle: Arc::new(Handle(inner)),
            },
            task,
        ))
    }
}
