//! The spawned batcher: flushing in a background task.

use alloc::collections::VecDeque;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::fmt;
use core::future::Future;

use super::{BatchConfig, ConfigError, Inner, Store};
use crate::queue::{Closed, TrySendError};
use crate::{Instant, Spawn, Timer};

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
    fn is_full(&self) -> bool {
        self.items.len() >= self.capacity
    }
    fn push(&mut self, stamp: Instant, item: T) -> Result<(), T> {
        if self.is_full() {
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
/// [module docs](super) for the rule and the semantics.
///
/// Cloning gives another handle to the same batcher. Dropping the last handle closes it: the
/// background task flushes everything held and ends, so nothing is lost. The task's handle,
/// returned by [`spawn`](Self::spawn), completes after the final flush and reports a panic in
/// the flush function as a [`JoinError`](crate::JoinError).
///
/// # Example
///
/// ```
/// # #[cfg(feature = "alloc")] {
/// # use steadfast::{Spawn, TaskHandle, JoinError};
/// # #[derive(Clone)] struct Threads;
/// # struct Join<T>(Option<std::thread::JoinHandle<T>>);
/// # impl<T> Unpin for Join<T> {}
/// # impl<T> core::future::Future for Join<T> { type Output = Result<T, JoinError>;
/// #   fn poll(mut self: core::pin::Pin<&mut Self>, _: &mut core::task::Context<'_>) -> core::task::Poll<Self::Output> {
/// #     core::task::Poll::Ready(self.0.take().unwrap().join().map_err(JoinError::Panicked)) } }
/// # impl<T> TaskHandle<T> for Join<T> { fn abort(&mut self) {} fn is_finished(&self) -> bool { false } }
/// # impl Spawn for Threads { type Handle<T: Send + 'static> = Join<T>;
/// #   fn spawn<F: core::future::Future + Send + 'static>(&self, f: F) -> Join<F::Output> where F::Output: Send + 'static {
/// #     Join(Some(std::thread::spawn(move || futures_executor::block_on(f)))) } }
/// use core::time::Duration;
/// use std::sync::{Arc, Mutex};
/// use steadfast::batch::{BatchConfig, Batcher};
/// use steadfast::VirtualTimer;
///
/// // Any `Spawn`: `TokioSpawner`, `SmolSpawner`, ... Here one thread per task.
/// let timer = VirtualTimer::new();
/// let flushed = Arc::new(Mutex::new(Vec::new()));
/// let sink = flushed.clone();
/// let config = BatchConfig::new(2, Duration::from_secs(1)).unwrap();
/// let (batcher, task) = Batcher::spawn(&Threads, timer, config, 16, move |batch: Vec<u32>| {
///     let sink = sink.clone();
///     async move {
///         sink.lock().unwrap().push(batch);
///         Ok::<(), ()>(())
///     }
/// }, |_err| {}).unwrap();
///
/// futures_executor::block_on(async {
///     for i in 0..5 {
///         batcher.add(i).await.unwrap();
///     }
///     batcher.close(); // flushes the last, partial batch
///     task.await.unwrap();
/// });
/// assert_eq!(*flushed.lock().unwrap(), [vec![0, 1], vec![2, 3], vec![4]]);
/// # }
/// ```
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
            .with_lock(|s| (s.store.items.len(), s.store.capacity, s.closed));
        f.debug_struct("Batcher")
            .field("held", &held)
            .field("capacity", &capacity)
            .field("closed", &closed)
            .field("config", &inner.config)
            .finish()
    }
}

impl<T, Tm> Batcher<T, Tm>
where
    T: Send + 'static,
    Tm: Timer + Send + Sync + 'static,
    Tm::Sleep: Send,
{
    /// Spawns the background flushing on `spawner` and returns a handle to add items with,
    /// and the background task's handle. The batcher holds at most `capacity` items; `flush`
    /// is called with each batch, one at a time, and every `Err` it returns goes to `on_error`.
    ///
    /// # Errors
    ///
    /// [`ConfigError`] naming `capacity` when it is smaller than the batch size.
    #[allow(clippy::type_complexity)]
    pub fn spawn<S, F, Fut, E, H>(
        spawner: &S,
        timer: Tm,
        config: BatchConfig,
        capacity: usize,
        flush: F,
        on_error: H,
    ) -> Result<(Self, S::Handle<()>), ConfigError>
    where
        S: Spawn,
        F: FnMut(Vec<T>) -> Fut + Send + 'static,
        Fut: Future<Output = Result<(), E>> + Send,
        H: FnMut(E) + Send + 'static,
        E: Send,
    {
        if capacity < config.batch_size() {
            return Err(super::error::invalid(
                "capacity",
                "must be at least batch_size",
            ));
        }
        let inner = Arc::new(Inner::new(
            timer,
            config,
            Bounded {
                items: VecDeque::new(),
                capacity,
            },
        ));
        // Should the task end early (a panic in `flush`, or the runtime cancelling it), the
        // guard closes the batcher, so that later adds get their items back instead of
        // piling up with nobody to flush them.
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

impl<T, Tm: Timer> Batcher<T, Tm> {
    /// Adds `item`, waiting while the batcher is full. Hands the item back in [`Closed`] if
    /// the batcher is closed or closes meanwhile. Cancel-safe (see the [module docs](super)).
    pub async fn add(&self, item: T) -> Result<(), Closed<T>> {
        self.handle.0.add(item).await
    }

    /// Adds `item` if there is room now; otherwise hands it back, telling full from closed.
    pub fn try_add(&self, item: T) -> Result<(), TrySendError<T>> {
        self.handle.0.try_add(item)
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

    /// How many items are held and not yet taken into a flush.
    #[must_use]
    pub fn held(&self) -> usize {
        self.handle.0.held()
    }

    /// The settings.
    pub fn config(&self) -> BatchConfig {
        self.handle.0.config
    }
}
