//! What both spawned pools share: the queue (a [`Channel`] over a `VecDeque` that grows as
//! items arrive, so a large capacity allocates nothing up front), the count of pending items,
//! the handle that closes the pool when the last one goes, and the containment of panics.

use alloc::collections::VecDeque;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::fmt;
use core::future::Future;

use super::pending::Pending;
use super::{Metrics, WorkError};
use crate::ConfigError;
use crate::queue::{Channel, Closed, TrySendError};

/// The queue and the count, shared by the handles and the workers.
pub(super) struct Shared<J> {
    pub(super) chan: Channel<VecDeque<J>>,
    pub(super) pending: Pending,
}

/// Closes the pool when the last handle goes; the workers then drain the queue and end.
struct Closer<J>(Arc<Shared<J>>);

impl<J> Drop for Closer<J> {
    fn drop(&mut self) {
        self.0.chan.close();
    }
}

/// A handle to the intake: what a `WorkerPool` or `DetachedPool` holds.
pub(super) struct Intake<J> {
    closer: Arc<Closer<J>>,
}

impl<J> Clone for Intake<J> {
    fn clone(&self) -> Self {
        Intake {
            closer: self.closer.clone(),
        }
    }
}

impl<J> Intake<J> {
    /// An open intake of `capacity` items; the workers get `shared` clones of it.
    pub(super) fn new(capacity: usize) -> Self {
        let shared = Arc::new(Shared {
            chan: Channel::new(capacity, VecDeque::new()),
            pending: Pending::new(),
        });
        Intake {
            closer: Arc::new(Closer(shared)),
        }
    }

    pub(super) fn shared(&self) -> &Arc<Shared<J>> {
        &self.closer.0
    }

    /// Queues `job`, counted as pending from before the send, so `wait_idle` cannot miss it.
    pub(super) async fn submit(&self, job: J) -> Result<(), Closed<J>> {
        let shared = self.shared();
        let guard = shared.pending.add();
        shared.chan.send(job).await?;
        guard.keep();
        Ok(())
    }

    pub(super) fn try_submit(&self, job: J) -> Result<(), TrySendError<J>> {
        let shared = self.shared();
        let guard = shared.pending.add();
        shared.chan.try_send(job)?;
        guard.keep();
        Ok(())
    }

    /// Closes the queue and takes back what no worker started, oldest first.
    pub(super) fn shutdown<T>(&self, item: impl FnMut(J) -> T) -> Vec<T> {
        let shared = self.shared();
        let undone: Vec<T> = shared.chan.shutdown().into_iter().map(item).collect();
        shared.pending.done(undone.len());
        undone
    }

    pub(super) async fn wait_idle(&self) {
        self.shared().pending.wait_idle().await;
    }

    pub(super) fn close(&self) {
        self.shared().chan.close();
    }

    pub(super) fn is_closed(&self) -> bool {
        self.shared().chan.is_closed()
    }

    pub(super) fn metrics(&self) -> Metrics {
        let shared = self.shared();
        Metrics {
            queued: shared.chan.len::<J>(),
            pending: shared.pending.get(),
            capacity: shared.chan.capacity(),
        }
    }

    pub(super) fn debug(&self, name: &str, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct(name)
            .field("metrics", &self.metrics())
            .field("closed", &self.is_closed())
            .finish()
    }
}

/// Checks the settings of a spawned pool.
pub(super) fn check(workers: usize, capacity: usize) -> Result<(), ConfigError> {
    let invalid = |field, problem| ConfigError::new("pool", field, problem);
    if workers == 0 {
        return Err(invalid("workers", "must be at least 1"));
    }
    if capacity == 0 {
        return Err(invalid("capacity", "must be at least 1"));
    }
    if capacity > Channel::<()>::MAX_CAPACITY {
        return Err(invalid("capacity", "must be less than usize::MAX"));
    }
    Ok(())
}

/// The methods both spawned pools have alike, each a call on their `intake`.
macro_rules! intake_methods {
    () => {
        /// Waits until every accepted item has been run and its outcome delivered (or it was
        /// handed back), and no `submit` is in progress. More may be submitted afterwards.
        pub async fn wait_idle(&self) {
            self.intake.wait_idle().await;
        }

        /// Stops intake; the workers drain what is queued and then end. Idempotent. Follow
        /// with [`wait_idle`](Self::wait_idle) to wait for the drain.
        pub fn close(&self) {
            self.intake.close();
        }

        /// Whether the pool was closed.
        #[must_use]
        pub fn is_closed(&self) -> bool {
            self.intake.is_closed()
        }

        /// The counters now: items queued (not counting those running), items pending
        /// (accepted and not yet reported, plus submissions in progress), and the capacity.
        #[must_use]
        pub fn metrics(&self) -> $crate::pool::Metrics {
            self.intake.metrics()
        }
    };
}
pub(super) use intake_methods;

/// Runs one item, turning a panic into [`WorkError::Panicked`].
#[cfg(feature = "std")]
pub(super) async fn contained<T, O, F, Fut, S>(
    work: &Arc<F>,
    item: T,
    _spawner: &S,
) -> Result<O, WorkError>
where
    F: Fn(T) -> Fut,
    Fut: Future<Output = O>,
{
    let future = crate::panic::catch(|| work(item)).map_err(WorkError::Panicked)?;
    crate::panic::CatchUnwind::new(future)
        .await
        .map_err(WorkError::Panicked)
}

/// Runs one item as a task of its own, turning a panic into [`WorkError::Panicked`].
#[cfg(not(feature = "std"))]
pub(super) async fn contained<T, O, F, Fut, S>(
    work: &Arc<F>,
    item: T,
    spawner: &S,
) -> Result<O, WorkError>
where
    T: Send + 'static,
    O: Send + 'static,
    F: Fn(T) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = O> + Send + 'static,
    S: crate::Spawn,
{
    let work = work.clone();
    spawner
        .spawn(async move { work(item).await })
        .await
        .map_err(WorkError::from)
}
