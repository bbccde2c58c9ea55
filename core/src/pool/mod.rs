//! A worker pool: N workers take items from a bounded queue and run them.
//!
//! Three forms, one behaviour:
//!
//! | | [`WorkerPool`] (feature `alloc`) | [`DetachedPool`] (feature `alloc`) | [`FixedPool<T, N>`](FixedPool) |
//! |---|---|---|---|
//! | workers | tasks spawned through [`Spawn`](crate::Spawn), on every core | tasks spawned through [`Spawn`](crate::Spawn), on every core | futures inside one driver future you run in your own task ([`run`](FixedPool::run)); no spawner, no heap |
//! | queue | `async-channel`, capacity set at run time | `async-channel`, capacity set at run time | [`BoundedQueue<T, N>`](crate::queue::BoundedQueue), capacity a `const` generic, `const fn new` for `static`s |
//! | outcome of an item | a [`Completion`] handle per submission: `Result<O, WorkError>` | passed to the `on_outcome` handler given at construction: `Result<O, WorkError>` | every output is passed to the `report` callback given to the driver |
//! | cost per item | one heap allocation (the handle's shared slot), a lock and a wake-up | none beyond the queue: nothing allocated | none beyond the queue |
//! | panic in the work | caught, reported for that item as [`WorkError::Panicked`]; the pool goes on | caught, passed to the handler as [`WorkError::Panicked`]; the pool goes on | propagates out of the driver (see below) |
//!
//! # Which form to pick
//!
//! - [`WorkerPool`] when the submitter wants the outcome of *its* item back, where it
//!   submitted it (a request waiting for its own result). The handle costs an allocation and
//!   a wake-up per item: several times the queue's own cost for trivial work.
//! - [`DetachedPool`] for fire-and-forget throughput: outcomes (and panics) go to one handler
//!   that counts, logs or forwards them. Submitting allocates nothing, so the pool runs at
//!   about the speed of its queue (with the `std` feature; without it, a panic can only be
//!   caught by running each item as a task of its own, which costs a spawn per item).
//! - [`FixedPool`] without a spawner or without a heap (embassy, firmware): one driver future
//!   runs the workers inside your task.
//!
//! # Semantics
//!
//! - **Backpressure.** `submit` waits while the queue is full; `try_submit` hands the item back
//!   at once when the queue is full or closed. Nothing grows without bound.
//! - **Order.** Items are taken from the queue in submission order (FIFO) by whichever worker
//!   is free; with more than one worker they may finish in any order.
//! - **Cancellation.** Dropping a `submit` future before it completes drops the item it owned
//!   and leaves no trace in the pool; a slot granted to it passes to the next waiting producer.
//!   An accepted item is run exactly once, or handed back by an immediate shutdown: it is never
//!   lost or duplicated.
//! - **`wait_idle`** (asyncio's `Queue.join`) returns once every accepted item has been
//!   run and reported (its handle resolved, or the handler or `report` callback returned) and no
//!   `submit` is in progress; more may be submitted afterwards.
//! - **`close`** stops intake (later submissions are handed back) and lets the workers drain
//!   what is queued; the workers then end (the [`FixedPool`] driver future completes). Follow
//!   it with `wait_idle` to wait for the drain.
//! - **`shutdown`** is the immediate stop: it closes intake and returns the items that no
//!   worker has started, oldest first. Items already running finish and are reported as usual.
//!   Returned items are not reported otherwise: a [`WorkerPool`] handle of one resolves to
//!   [`WorkError::Cancelled`], a [`DetachedPool`] handler never sees it (the caller holds it).
//!
//! # Panics in the spawn-free form
//!
//! [`FixedPool`] runs user code inside the caller's own task, with no task boundary to catch a
//! panic at: a panic in `work` or `report` propagates out of the driver future (on firmware,
//! which aborts on panic, that is the end; under `std`, the panic unwinds through the task that
//! runs the driver). The pool itself stays consistent: the panicking item stops counting as
//! pending, queued items stay queued and can be taken back with
//! [`shutdown`](FixedPool::shutdown) or run by a new driver.
//!
//! # Example: the spawn-free form
//!
//! ```
//! # #[cfg(feature = "alloc")] {
//! use core::cell::Cell;
//! use core::time::Duration;
//! use futures_util::future::join;
//! use steadfast::{Timer, VirtualTimer, pool::FixedPool};
//!
//! static POOL: FixedPool<u32, 8> = FixedPool::new();
//!
//! let timer = VirtualTimer::new();
//! let total = Cell::new(0);
//! futures_executor::block_on(timer.auto_advance(async {
//!     // Two workers, each taking one second per item.
//!     let t = &timer;
//!     let driver = POOL.run::<2, _, _>(
//!         |n: u32| async move {
//!             t.sleep(Duration::from_secs(1)).await;
//!             n * 10
//!         },
//!         |out| total.set(total.get() + out),
//!     );
//!     let producer = async {
//!         for n in 1..=4 {
//!             POOL.submit(n).await.unwrap();
//!         }
//!         POOL.wait_idle().await;
//!         POOL.close(); // the driver ends once the queue is drained
//!     };
//!     join(driver, producer).await;
//! }));
//! assert_eq!(total.get(), 100);
//! assert_eq!(timer.now().as_nanos(), 2_000_000_000); // four items, two at a time
//! # }
//! ```

mod error;
#[cfg(feature = "alloc")]
mod spawned;

use core::fmt;
use core::future::Future;

use crate::loom::{AtomicUsize, Ordering};
use maitake_sync::WaitQueue;
use maitake_sync::util::CachePadded;

use crate::queue::{BoundedQueue, Closed, Drain, TrySendError};

pub use error::ConfigError;
#[cfg(feature = "alloc")]
pub use error::WorkError;
#[cfg(feature = "alloc")]
pub use spawned::{Completion, DetachedPool, WorkerPool};

/// Counts items accepted and not yet finished, and wakes `wait_idle` when none is left.
///
/// Two counters rather than one, on cache lines of their own: producers count submissions
/// begun, workers count them ended, and neither side writes to the other's line on the hot
/// path. `done` looks at the idle queue only while a `wait_idle` is in progress.
pub(crate) struct Pending {
    /// Submissions begun (accepted items among them).
    begun: CachePadded<AtomicUsize>,
    /// Submissions ended: items run and reported, handed back, or never accepted.
    ended: CachePadded<AtomicUsize>,
    /// `wait_idle` calls in progress.
    watchers: AtomicUsize,
    idle: WaitQueue,
}

impl Pending {
    pub(crate) const fn new() -> Self {
        Pending {
            begun: CachePadded::new(AtomicUsize::new(0)),
            ended: CachePadded::new(AtomicUsize::new(0)),
            watchers: AtomicUsize::new(0),
            idle: WaitQueue::new(),
        }
    }

    pub(crate) fn get(&self) -> usize {
        // `ended` first: a submission ends after it begins, so this never reads more ended
        // than begun, and equal counts mean that there was an instant with nothing pending.
        let ended = self.ended.load(Ordering::SeqCst);
        self.begun.load(Ordering::SeqCst).wrapping_sub(ended)
    }

    /// Counts one more, and returns a guard that counts it off when dropped unless
    /// [`keep`](PendingGuard::keep) is called.
    pub(crate) fn add(&self) -> PendingGuard<'_> {
        self.begun.fetch_add(1, Ordering::SeqCst);
        PendingGuard(Some(self))
    }

    pub(crate) fn done(&self, n: usize) {
        if n == 0 {
            return;
        }
        self.ended.fetch_add(n, Ordering::SeqCst);
        // Either a watcher counted itself in before this load and is woken here, or it did so
        // after the `fetch_add` above and its own check sees the count this left.
        if self.watchers.load(Ordering::SeqCst) != 0 && self.get() == 0 {
            self.idle.wake_all();
        }
    }

    /// Whether a `wait_idle` is in progress.
    #[cfg_attr(not(feature = "alloc"), allow(dead_code))]
    pub(crate) fn watched(&self) -> bool {
        self.watchers.load(Ordering::SeqCst) != 0
    }

    pub(crate) async fn wait_idle(&self) {
        self.watchers.fetch_add(1, Ordering::SeqCst);
        let _watching = Watching(&self.watchers);
        // The queue is never closed, so `wait_for` only returns `Ok`.
        let _ = self.idle.wait_for(|| self.get() == 0).await;
    }
}

/// Counts a `wait_idle` call out when it ends or is dropped.
struct Watching<'a>(&'a AtomicUsize);

impl Drop for Watching<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Counts a pending item off when dropped (also while unwinding), unless kept.
pub(crate) struct PendingGuard<'a>(Option<&'a Pending>);

impl PendingGuard<'_> {
    /// The item was accepted: it stays counted until [`Pending::done`].
    pub(crate) fn keep(mut self) {
        self.0 = None;
    }
}

impl Drop for PendingGuard<'_> {
    fn drop(&mut self) {
        if let Some(p) = self.0.take() {
            p.done(1);
        }
    }
}

/// A worker pool with a fixed-capacity queue of `N` items and no heap: the spawn-free form.
/// See the [module docs](self) for the semantics shared with [`WorkerPool`].
///
/// Submit from anywhere with [`submit`](Self::submit) / [`try_submit`](Self::try_submit); run
/// the workers with [`run`](Self::run) (W workers inside one future) or
/// [`worker`](Self::worker) (one worker, for instance one per embassy task). `const fn new`
/// puts it in a `static`. A capacity of 0 is a compile-time error.
pub struct FixedPool<T, const N: usize> {
    queue: BoundedQueue<T, N>,
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
    /// is closed or closes meanwhile. Cancel-safe (see the [module docs](self)).
    pub async fn submit(&self, item: T) -> Result<(), Closed<T>> {
        let guard = self.pending.add();
        self.queue.send(item).await?;
        guard.keep();
        Ok(())
    }

    /// Queues `item` if there is room now; otherwise hands it back, telling full from closed.
    pub fn try_submit(&self, item: T) -> Result<(), TrySendError<T>> {
        let guard = self.pending.add();
        self.queue.try_send(item)?;
        guard.keep();
        Ok(())
    }

    /// Waits until every accepted item has been run and reported (see the
    /// [module docs](self)).
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
        let undone = self.queue.close_and_take();
        self.pending.done(undone.len());
        undone
    }

    /// Whether the pool was closed.
    #[must_use]
    pub fn is_closed(&self) -> bool {
        self.queue.is_closed()
    }

    /// How many items wait in the queue now (not counting those running).
    #[must_use]
    pub fn queued(&self) -> usize {
        self.queue.len()
    }

    /// How many accepted items are not yet reported (queued or running), plus submissions in
    /// progress.
    #[must_use]
    pub fn pending(&self) -> usize {
        self.pending.get()
    }

    /// The queue's capacity, `N`.
    #[must_use]
    pub const fn capacity(&self) -> usize {
        N
    }

    /// The driver: runs `W` workers concurrently inside one future, each taking items from
    /// the queue, awaiting `work(item)` and passing its output to `report`. Completes once the
    /// pool is closed and the queue drained and every worker has finished its last item.
    ///
    /// `W == 0` is a compile-time error. Dropping the driver drops the items in progress
    /// (their work futures are cancelled and not reported) and leaves queued items queued.
    pub async fn run<const W: usize, F, Fut>(&self, work: F, report: impl Fn(Fut::Output))
    where
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
    /// `work(item)` for each and passing its output to `report`. Run several (in one task with
    /// a join, or one per task) for concurrency; [`run`](Self::run) does that for you.
    pub async fn worker<F, Fut>(&self, work: &F, report: &impl Fn(Fut::Output))
    where
        F: Fn(T) -> Fut,
        Fut: Future,
    {
        while let Some(item) = self.queue.recv().await {
            // Counts the item off even if `work` or `report` panics or this is dropped.
            let _done = PendingGuard(Some(&self.pending));
            report(work(item).await);
        }
    }
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

#[cfg(test)]
mod tests;
