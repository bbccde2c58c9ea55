//! [`DetachedPool`]: workers as tasks, every outcome to one handler.

use alloc::sync::Arc;
use alloc::vec::Vec;
use core::fmt;
use core::future::Future;

use super::fixed::Running;
use super::intake::{Intake, Shared, check, contained, intake_methods};
use super::pending::Pending;
use super::{Builder, WorkError};
use crate::queue::{Closed, TrySendError};
use crate::{ConfigError, Spawn};

/// A worker pool like [`WorkerPool`](super::WorkerPool) whose outcomes go to one handler,
/// `on_outcome`, given at construction, instead of to a handle per item. Submitting allocates
/// nothing but the queue's own growth: the queue carries the bare items. See the
/// [module docs](super) for the semantics and for which form to pick.
///
/// `on_outcome` is called by the worker that ran the item, once per accepted item that a
/// worker started, with `Ok(output)` or a [`WorkError`] (a panic in the work, or
/// [`WorkError::Cancelled`] if the worker was dropped while it ran, as when the runtime shuts
/// down); items handed back by [`shutdown`](Self::shutdown) are not reported (the caller has
/// them). It runs on the workers, concurrently: keep it short (count, log, send on a channel).
/// `wait_idle` returns after the handler has returned for every accepted item.
///
/// Built with [`DetachedPool::builder`]. Cloning gives another handle to the same pool. When
/// every handle is dropped, intake stops and the workers drain the queue and end, as after
/// [`close`](Self::close).
#[must_use = "dropping the last handle closes the pool"]
pub struct DetachedPool<T> {
    pub(super) intake: Intake<T>,
}

impl<T> DetachedPool<T> {
    /// The builder: set [`workers`](Builder::workers) and [`capacity`](Builder::capacity),
    /// then [`spawn`](Builder::spawn) the workers with the outcome handler.
    pub const fn builder() -> Builder<Self> {
        Builder::new()
    }

    /// Queues `item`, waiting while the queue is full; its outcome goes to the pool's
    /// handler. Hands the item back in [`Closed`] if the pool is closed or closes meanwhile.
    /// Cancel-safe (see the [module docs](super)).
    pub async fn submit(&self, item: T) -> Result<(), Closed<T>> {
        self.intake.submit(item).await
    }

    /// Queues `item` if there is room now; otherwise hands it back, telling full from closed.
    /// A slot freed while producers wait in [`submit`](Self::submit) is theirs: `try_submit`
    /// does not take it.
    pub fn try_submit(&self, item: T) -> Result<(), TrySendError<T>> {
        self.intake.try_submit(item)
    }

    /// Stops intake and takes back every item no worker has started, oldest first; they are
    /// not reported to the handler. Items already running finish and are reported as usual.
    pub fn shutdown(&self) -> Vec<T> {
        self.intake.shutdown(|item| item)
    }

    intake_methods!();
}

impl<T: Send + 'static> Builder<DetachedPool<T>> {
    /// Spawns the workers on `spawner`, sharing one queue, each running `work(item)` per item
    /// and passing its outcome to `on_outcome`.
    ///
    /// Panics in `work` are caught and reported to `on_outcome` as [`WorkError::Panicked`],
    /// as in the [`WorkerPool`](super::WorkerPool) (without the `std` feature, each item then
    /// runs as a task of its own, which costs what a spawn costs). With `std`, a panic in
    /// `on_outcome` itself is caught too and the worker goes on (the panic hook has printed
    /// it; the outcome it was given is lost with it); without `std`, it ends that worker.
    ///
    /// The pending count is kept off one shared counter on the hot path: each worker counts
    /// the items it finished off in bulk, when it finds the queue empty, or after every item
    /// while a `wait_idle` is in progress (which therefore returns as promptly as ever). So
    /// while the workers are busy, `metrics().pending` is an upper bound.
    ///
    /// # Errors
    ///
    /// [`ConfigError`] naming `workers` or `capacity` when either is 0, or `capacity` when it
    /// is `usize::MAX`.
    pub fn spawn<S, F, Fut, O, H>(
        self,
        spawner: &S,
        work: F,
        on_outcome: H,
    ) -> Result<DetachedPool<T>, ConfigError>
    where
        S: Spawn + Send + Sync + 'static,
        S::Handle<O>: Send,
        F: Fn(T) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = O> + Send + 'static,
        O: Send + 'static,
        H: Fn(Result<O, WorkError>) + Send + Sync + 'static,
    {
        check(self.workers, self.capacity)?;
        let intake = Intake::new(self.capacity);
        let work = Arc::new(work);
        let on_outcome = Arc::new(on_outcome);
        for _ in 0..self.workers {
            let task = worker(
                intake.shared().clone(),
                work.clone(),
                on_outcome.clone(),
                spawner.clone(),
            );
            // Detached: a worker ends by itself once the queue is closed and drained.
            drop(spawner.spawn(task));
        }
        Ok(DetachedPool { intake })
    }
}

async fn worker<T, O, F, Fut, H, S>(
    shared: Arc<Shared<T>>,
    work: Arc<F>,
    on_outcome: Arc<H>,
    spawner: S,
) where
    T: Send + 'static,
    O: Send + 'static,
    F: Fn(T) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = O> + Send + 'static,
    H: Fn(Result<O, WorkError>),
    S: Spawn,
    S::Handle<O>: Send,
{
    let report = |outcome| handle(&*on_outcome, outcome);
    // Items are counted off in bulk: while `wait_idle` is in progress, after each; otherwise
    // whenever the queue is empty, before waiting for more (a busy pool is not idle anyway).
    let mut done = DoneLater {
        pending: &shared.pending,
        count: 0,
    };
    loop {
        let item = match shared.chan.try_recv() {
            Ok(item) => item,
            Err(_) => {
                done.flush();
                match shared.chan.recv().await {
                    Some(item) => item,
                    None => break,
                }
            }
        };
        // Counted now, reported by `flush` once the handler has returned; if this task is
        // dropped meanwhile, `running` reports the item cancelled, then `DoneLater`'s drop
        // counts it off with the rest.
        done.count += 1;
        let running = Running::new(&report);
        let outcome = contained(&work, item, &spawner).await;
        running.reported();
        report(outcome);
        if shared.pending.watched() {
            done.flush();
        }
    }
}

/// Items a worker has finished and not yet counted off; counts them off when dropped.
struct DoneLater<'a> {
    pending: &'a Pending,
    count: usize,
}

impl DoneLater<'_> {
    fn flush(&mut self) {
        self.pending.done(core::mem::take(&mut self.count));
    }
}

impl Drop for DoneLater<'_> {
    fn drop(&mut self) {
        self.flush();
    }
}

/// Passes `outcome` to the handler, containing a panic in it so that the worker goes on.
#[cfg(feature = "std")]
fn handle<O>(on_outcome: &impl Fn(Result<O, WorkError>), outcome: Result<O, WorkError>) {
    // The panic hook has reported it; the worker takes the next item.
    let _ = crate::panic::catch(|| on_outcome(outcome));
}

/// Passes `outcome` to the handler.
#[cfg(not(feature = "std"))]
fn handle<O>(on_outcome: &impl Fn(Result<O, WorkError>), outcome: Result<O, WorkError>) {
    on_outcome(outcome);
}

impl<T> Clone for DetachedPool<T> {
    fn clone(&self) -> Self {
        DetachedPool {
            intake: self.intake.clone(),
        }
    }
}

impl<T> fmt::Debug for DetachedPool<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.intake.debug("DetachedPool", f)
    }
}
