//! The spawn-free form: a queue of `N` items in place and a driver future that runs the
//! workers inside the caller's task.

use core::fmt;
use core::future::Future;

use super::pending::{Pending, PendingGuard};
use super::{Metrics, WorkError};
use crate::queue::{BoundedQueue, Closed, Drain, TrySendError};

/// A worker pool with a fixed-capacity queue of `N` items and no heap: the spawn-free form.
/// See the [module docs](super) for the semantics shared with the spawned forms.
///
/// It has no run-time settings, so no builder: `const fn new` puts it in a `static`, and a
/// capacity `N` of 0 is a compile-time error, as for [`BoundedQueue`]. Submit from anywhere with
/// [`submit`](Self::submit) / [`try_submit`](Self::try_submit); run the workers with
/// [`run`](Self::run) (W workers inside one future) or [`worker`](Self::worker) (one worker,
/// for instance one per embassy task).
pub struct FixedPool<T, const N: usize> {
    pub(super) queue: BoundedQueue<T, N>,
    pending: Pending,
}

impl<T, const N: usize> FixedPool<T, N> {
    /// An open pool with an empty queue of capacity `N`.
    #[must_use]
    pub const fn new() -> Self {
        FixedPool {
            queue: BoundedQueue::new(),
            pending: Pending::new(),
        }
    }

    /// Queues `item`, waiting while the queue is full. Hands it back in [`Closed`] if the pool
    /// is closed or closes meanwhile. Cancel-safe (see the [module docs](super)).
    pub async fn submit(&self, item: T) -> Result<(), Closed<T>> {
        let guard = self.pending.add();
        self.queue.send(item).await?;
        guard.keep();
        Ok(())
    }

    /// Queues `item` if there is room now; otherwise hands it back, telling full from closed.
    /// A slot freed while producers wait in [`submit`](Self::submit) is theirs: `try_submit`
    /// does not take it.
    pub fn try_submit(&self, item: T) -> Result<(), TrySendError<T>> {
        let guard = self.pending.add();
        self.queue.try_send(item)?;
        guard.keep();
        Ok(())
    }

    /// Waits until every accepted item has been reported or handed back (see the
    /// [module docs](super)). Items left queued by a dropped driver keep it waiting until
    /// another driver runs them or [`shutdown`](Self::shutdown) hands them back.
    pub async fn wait_idle(&self) {
        self.pending.wait_idle().await;
    }

    /// Stops intake; the workers drain what is queued and then end. Idempotent.
    pub fn close(&self) {
        self.queue.close();
    }

    /// Stops intake and takes back every item no worker has started, oldest first. Items
    /// already running finish and are reported as usual.
    pub fn shutdown(&self) -> Drain<T, N> {
        let undone = self.queue.shutdown();
        self.pending.done(undone.len());
        undone
    }

    /// Whether the pool was closed.
    #[must_use]
    pub fn is_closed(&self) -> bool {
        self.queue.is_closed()
    }

    /// The counters now: items queued, items pending, and the capacity `N`.
    #[must_use]
    pub fn metrics(&self) -> Metrics {
        Metrics {
            queued: self.queue.len(),
            pending: self.pending.get(),
            capacity: N,
        }
    }

    /// The driver: runs `W` workers concurrently inside one future, each taking items from
    /// the queue, awaiting `work(item)` and passing its outcome to `report`. Completes once
    /// the pool is closed and the queue drained and every worker has finished its last item.
    ///
    /// `W == 0` is a compile-time error. Dropping the driver reports each item in progress
    /// as [`WorkError::Cancelled`] (its work future is dropped) and leaves queued items
    /// queued, for another driver or for [`shutdown`](Self::shutdown).
    pub async fn run<const W: usize, F, Fut>(
        &self,
        work: F,
        report: impl Fn(Result<Fut::Output, WorkError>),
    ) where
        F: Fn(T) -> Fut,
        Fut: Future,
    {
        const { assert!(W > 0, "a pool needs at least one worker") };
        let (work, report) = (&work, &report);
        embassy_futures::join::join_array(core::array::from_fn::<_, W, _>(|_| {
            self.worker(work, report)
        }))
        .await;
    }

    /// One worker: takes items from the queue until it is closed and drained, awaiting
    /// `work(item)` for each and passing its outcome to `report`. Run several (in one task
    /// with a join, or one per task) for concurrency; [`run`](Self::run) does that for you.
    pub async fn worker<F, Fut>(&self, work: &F, report: &impl Fn(Result<Fut::Output, WorkError>))
    where
        F: Fn(T) -> Fut,
        Fut: Future,
    {
        while let Some(item) = self.queue.recv().await {
            // Counts the item off even if `work` or `report` panics or this is dropped; after
            // `running`, which reports a cancelled item first.
            let _done = PendingGuard::new(&self.pending);
            let running = Running::new(report);
            let outcome = contained(work, item).await;
            running.reported();
            report(outcome);
        }
    }
}

/// An item whose work is in progress: reported as [`WorkError::Cancelled`] if dropped before
/// its outcome was (the worker was dropped, or, without `std`, the work panicked).
pub(super) struct Running<'a, R: Fn(Result<O, WorkError>), O> {
    report: Option<&'a R>,
    _out: core::marker::PhantomData<fn(O)>,
}

impl<'a, R: Fn(Result<O, WorkError>), O> Running<'a, R, O> {
    pub(super) fn new(report: &'a R) -> Self {
        Running {
            report: Some(report),
            _out: core::marker::PhantomData,
        }
    }

    /// The outcome is about to be reported by the caller.
    pub(super) fn reported(mut self) {
        self.report = None;
    }
}

impl<R: Fn(Result<O, WorkError>), O> Drop for Running<'_, R, O> {
    fn drop(&mut self) {
        if let Some(report) = self.report.take() {
            report(Err(WorkError::Cancelled));
        }
    }
}

/// Runs one item, turning a panic into [`WorkError::Panicked`].
#[cfg(feature = "std")]
async fn contained<T, F: Fn(T) -> Fut, Fut: Future>(
    work: &F,
    item: T,
) -> Result<Fut::Output, WorkError> {
    let future = crate::panic::catch(|| work(item)).map_err(WorkError::Panicked)?;
    crate::panic::CatchUnwind::new(future)
        .await
        .map_err(WorkError::Panicked)
}

/// Runs one item; without `std` a panic is not caught.
#[cfg(not(feature = "std"))]
async fn contained<T, F: Fn(T) -> Fut, Fut: Future>(
    work: &F,
    item: T,
) -> Result<Fut::Output, WorkError> {
    Ok(work(item).await)
}

impl<T, const N: usize> Default for FixedPool<T, N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T, const N: usize> fmt::Debug for FixedPool<T, N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FixedPool")
            .field("queue", &self.queue)
            .field("pending", &self.pending.get())
            .finish()
    }
}
