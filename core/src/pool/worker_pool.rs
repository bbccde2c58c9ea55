//! [`WorkerPool`]: workers as tasks, a [`Completion`] handle per item.

use alloc::sync::Arc;
use alloc::vec::Vec;
use core::fmt;
use core::future::Future;

use super::intake::{Intake, Shared, check, contained, intake_methods};
use super::pending::PendingGuard;
use super::reply::{Reply, channel};
use super::{Builder, Completion};
use crate::queue::{Closed, TrySendError};
use crate::{ConfigError, Spawn};

pub(super) struct Job<T, O> {
    pub(super) item: T,
    reply: Reply<O>,
}

/// A worker pool whose workers are tasks spawned through [`Spawn`], so they run on every core
/// of a multi-threaded runtime. Each submission returns a [`Completion`] handle for that item's
/// outcome. See the [module docs](super) for the semantics and an example.
///
/// Built with [`WorkerPool::builder`]. Cloning gives another handle to the same pool. When
/// every handle is dropped, intake stops and the workers drain the queue and end, as after
/// [`close`](Self::close): dropping loses nothing, it only stops you from waiting for the
/// drain.
#[must_use = "dropping the last handle closes the pool"]
pub struct WorkerPool<T, O> {
    pub(super) intake: Intake<Job<T, O>>,
}

impl<T, O> WorkerPool<T, O> {
    /// The builder: set [`workers`](Builder::workers) and [`capacity`](Builder::capacity),
    /// then [`spawn`](Builder::spawn) the workers.
    pub const fn builder() -> Builder<Self> {
        Builder::new()
    }

    /// Queues `item`, waiting while the queue is full, and returns the handle of its outcome.
    /// Hands the item back in [`Closed`] if the pool is closed or closes meanwhile.
    /// Cancel-safe (see the [module docs](super)).
    pub async fn submit(&self, item: T) -> Result<Completion<O>, Closed<T>> {
        let (reply, completion) = channel();
        let job = Job { item, reply };
        self.intake
            .submit(job)
            .await
            .map_err(|Closed(job)| Closed(job.item))?;
        Ok(completion)
    }

    /// Queues `item` if there is room now and returns the handle of its outcome; otherwise
    /// hands it back, telling full from closed. A slot freed while producers wait in
    /// [`submit`](Self::submit) is theirs: `try_submit` does not take it.
    pub fn try_submit(&self, item: T) -> Result<Completion<O>, TrySendError<T>> {
        let (reply, completion) = channel();
        match self.intake.try_submit(Job { item, reply }) {
            Ok(()) => Ok(completion),
            Err(TrySendError::Full(job)) => Err(TrySendError::Full(job.item)),
            Err(TrySendError::Closed(job)) => Err(TrySendError::Closed(job.item)),
        }
    }

    /// Stops intake and takes back every item no worker has started, oldest first. Their
    /// [`Completion`]s resolve to [`WorkError::Cancelled`](super::WorkError::Cancelled).
    /// Items already running finish and are reported as usual.
    pub fn shutdown(&self) -> Vec<T> {
        self.intake.shutdown(|job| job.item)
    }

    intake_methods!();
}

impl<T: Send + 'static, O: Send + 'static> Builder<WorkerPool<T, O>> {
    /// Spawns the workers on `spawner`, sharing one queue, each running `work(item)` per item.
    ///
    /// Panics in `work` are caught and reported for that item: with the `std` feature around
    /// the work's future; without it, by running each item as a task of its own and reading
    /// the [`JoinError`](crate::JoinError) of its handle.
    ///
    /// # Errors
    ///
    /// [`ConfigError`] naming `workers` or `capacity` when either is 0, or `capacity` when it
    /// is `usize::MAX`.
    pub fn spawn<S, F, Fut>(self, spawner: &S, work: F) -> Result<WorkerPool<T, O>, ConfigError>
    where
        S: Spawn + Send + Sync + 'static,
        S::Handle<O>: Send,
        F: Fn(T) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = O> + Send + 'static,
    {
        check(self.workers, self.capacity)?;
        let intake = Intake::new(self.capacity);
        let work = Arc::new(work);
        for _ in 0..self.workers {
            let task = worker(intake.shared().clone(), work.clone(), spawner.clone());
            // Detached: a worker ends by itself once the queue is closed and drained.
            drop(spawner.spawn(task));
        }
        Ok(WorkerPool { intake })
    }
}

async fn worker<T, O, F, Fut, S>(shared: Arc<Shared<Job<T, O>>>, work: Arc<F>, spawner: S)
where
    T: Send + 'static,
    O: Send + 'static,
    F: Fn(T) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = O> + Send + 'static,
    S: Spawn,
    S::Handle<O>: Send,
{
    while let Some(job) = shared.chan.recv().await {
        // Counts the item off after its reply was sent, or dropped (which sends `Cancelled`).
        let _done = PendingGuard::new(&shared.pending);
        let Job { item, reply } = job;
        reply.send(contained(&work, item, &spawner).await);
    }
}

impl<T, O> Clone for WorkerPool<T, O> {
    fn clone(&self) -> Self {
        WorkerPool {
            intake: self.intake.clone(),
        }
    }
}

impl<T, O> fmt::Debug for WorkerPool<T, O> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.intake.debug("WorkerPool", f)
    }
}
