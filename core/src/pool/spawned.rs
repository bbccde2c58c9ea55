//! The spawned pools: workers as tasks, an `async-channel` queue, and the outcome of each item
//! either in a completion handle ([`WorkerPool`]) or passed to one handler ([`DetachedPool`]).

use alloc::sync::Arc;
use alloc::vec::Vec;
use core::fmt;
use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll};

use maitake_sync::WaitCell;
use maitake_sync::blocking::Mutex;

use super::{ConfigError, Pending, WorkError};
use crate::Spawn;
use crate::queue::{Closed, TrySendError};

struct Job<T, O> {
    item: T,
    reply: Reply<O>,
}

/// A worker pool whose workers are tasks spawned through [`Spawn`], so they run on every core
/// of a multi-threaded runtime. Each submission returns a [`Completion`] handle for that item's
/// outcome. See the [module docs](super) for the semantics.
///
/// Cloning gives another handle to the same pool. When every handle is dropped, intake stops
/// and the workers drain the queue and end, as after [`close`](Self::close): dropping loses
/// nothing, it only stops you from waiting for the drain.
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
/// use steadfast::pool::WorkerPool;
///
/// // Any `Spawn`: `TokioSpawner`, `SmolSpawner`, ... Here one thread per task.
/// let spawner = Threads;
/// futures_executor::block_on(async {
///     let pool = WorkerPool::spawn(&spawner, 2, 16, |n: u32| async move {
///         if n == 3 { panic!("three is bad") }
///         n * 2
///     }).unwrap();
///     let four = pool.submit(2).await.unwrap();
///     let three = pool.submit(3).await.unwrap();
///     assert_eq!(four.await.unwrap(), 4);
///     let err = three.await.unwrap_err();
///     assert_eq!(err.panic_message().as_deref(), Some("three is bad"));
///     pool.close();
///     pool.wait_idle().await;
/// });
/// # }
/// ```
#[must_use = "dropping the last handle closes the pool"]
pub struct WorkerPool<T, O> {
    intake: Intake<Job<T, O>>,
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

impl<T: Send + 'static, O: Send + 'static> WorkerPool<T, O> {
    /// Spawns `workers` worker tasks on `spawner`, sharing a queue of `capacity` items, each
    /// running `work(item)` per item.
    ///
    /// Panics in `work` are caught and reported for that item: with the `std` feature by
    /// `catch_unwind` around the work's future; without it, by running each item as a task of
    /// its own and reading the [`JoinError`](crate::JoinError) of its handle.
    ///
    /// # Errors
    ///
    /// [`ConfigError`] naming `workers` or `capacity` when either is 0.
    pub fn spawn<S, F, Fut>(
        spawner: &S,
        workers: usize,
        capacity: usize,
        work: F,
    ) -> Result<Self, ConfigError>
    where
        S: Spawn + Send + Sync + 'static,
        S::Handle<O>: Send,
        F: Fn(T) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = O> + Send + 'static,
    {
        check(workers, capacity)?;
        let intake = Intake::new(capacity);
        let work = Arc::new(work);
        for _ in 0..workers {
            let (rx, pending) = (intake.rx.clone(), intake.pending.clone());
            let task = worker(rx, pending, work.clone(), spawner.clone());
            // Detached: a worker ends by itself once the queue is closed and drained.
            drop(spawner.spawn(task));
        }
        Ok(WorkerPool { intake })
    }
}

impl<T, O> WorkerPool<T, O> {
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
    /// hands it back, telling full from closed.
    pub fn try_submit(&self, item: T) -> Result<Completion<O>, TrySendError<T>> {
        let (reply, completion) = channel();
        match self.intake.try_submit(Job { item, reply }) {
            Ok(()) => Ok(completion),
            Err(TrySendError::Full(job)) => Err(TrySendError::Full(job.item)),
            Err(TrySendError::Closed(job)) => Err(TrySendError::Closed(job.item)),
        }
    }

    /// Waits until every accepted item has been run and its outcome delivered, and no
    /// `submit` is in progress.
    pub async fn wait_idle(&self) {
        self.intake.pending.wait_idle().await;
    }

    /// Stops intake; the workers drain what is queued and then end. Idempotent. Follow with
    /// [`wait_idle`](Self::wait_idle) to wait for the drain.
    pub fn close(&self) {
        self.intake.tx.close();
    }

    /// Stops intake and takes back every item no worker has started, oldest first. Their
    /// [`Completion`]s resolve to [`WorkError::Cancelled`]. Items already running finish and
    /// are reported as usual.
    pub fn shutdown(&self) -> Vec<T> {
        self.intake.shutdown(|job| job.item)
    }

    /// Whether the pool was closed.
    #[must_use]
    pub fn is_closed(&self) -> bool {
        self.intake.tx.is_closed()
    }

    /// How many items wait in the queue now (not counting those running).
    #[must_use]
    pub fn queued(&self) -> usize {
        self.intake.tx.len()
    }

    /// How many accepted items have no outcome yet (queued or running), plus submissions in
    /// progress.
    #[must_use]
    pub fn pending(&self) -> usize {
        self.intake.pending.get()
    }

    /// The queue's capacity.
    #[must_use]
    pub fn capacity(&self) -> usize {
        self.intake.tx.capacity().unwrap_or(usize::MAX)
    }
}

/// A worker pool like [`WorkerPool`] whose outcomes go to one handler, `on_outcome`, given at
/// construction, instead of to a handle per item. Submitting allocates nothing: the queue
/// carries the bare items. See the [module docs](super) for the semantics and for which form
/// to pick.
///
/// `on_outcome` is called by the worker that ran the item, once per accepted item that a
/// worker started, with `Ok(output)` or a [`WorkError`] (a panic in the work, or
/// [`WorkError::Cancelled`] if the runtime cancelled it); items handed back by
/// [`shutdown`](Self::shutdown) are not reported (the caller has them). It runs on the
/// workers, concurrently: keep it short (count, log, send on a channel). `wait_idle` returns
/// after the handler has returned for every accepted item.
///
/// Cloning gives another handle to the same pool. When every handle is dropped, intake stops
/// and the workers drain the queue and end, as after [`close`](Self::close).
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
/// use std::sync::Arc;
/// use std::sync::atomic::{AtomicU32, Ordering};
/// use steadfast::pool::DetachedPool;
///
/// let (sum, panics) = (Arc::new(AtomicU32::new(0)), Arc::new(AtomicU32::new(0)));
/// let (s, p) = (sum.clone(), panics.clone());
/// futures_executor::block_on(async {
///     let pool = DetachedPool::spawn(
///         &Threads,
///         2,
///         16,
///         |n: u32| async move {
///             if n == 3 { panic!("three is bad") }
///             n * 2
///         },
///         move |outcome| match outcome {
///             Ok(out) => { s.fetch_add(out, Ordering::SeqCst); }
///             Err(e) => { assert!(e.is_panic()); p.fetch_add(1, Ordering::SeqCst); }
///         },
///     ).unwrap();
///     for n in 1..=4 {
///         pool.submit(n).await.unwrap();
///     }
///     pool.close();
///     pool.wait_idle().await;
/// });
/// assert_eq!(sum.load(Ordering::SeqCst), 2 + 4 + 8);
/// assert_eq!(panics.load(Ordering::SeqCst), 1);
/// # }
/// ```
#[must_use = "dropping the last handle closes the pool"]
pub struct DetachedPool<T> {
    intake: Intake<T>,
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

impl<T: Send + 'static> DetachedPool<T> {
    /// Spawns `workers` worker tasks on `spawner`, sharing a queue of `capacity` items, each
    /// running `work(item)` per item and passing its outcome to `on_outcome`.
    ///
    /// Panics in `work` are caught and reported to `on_outcome` as [`WorkError::Panicked`],
    /// as in [`WorkerPool::spawn`] (without the `std` feature, each item then runs as a task
    /// of its own, which costs what a spawn costs). With `std`, a panic in `on_outcome` itself
    /// is caught too and the worker goes on (the panic hook has printed it; the outcome it was
    /// given is lost with it); without `std`, it ends that worker.
    ///
    /// # Errors
    ///
    /// [`ConfigError`] naming `workers` or `capacity` when either is 0.
    pub fn spawn<S, F, Fut, O, H>(
        spawner: &S,
        workers: usize,
        capacity: usize,
        work: F,
        on_outcome: H,
    ) -> Result<Self, ConfigError>
    where
        S: Spawn + Send + Sync + 'static,
        S::Handle<O>: Send,
        F: Fn(T) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = O> + Send + 'static,
        O: Send + 'static,
        H: Fn(Result<O, WorkError>) + Send + Sync + 'static,
    {
        check(workers, capacity)?;
        let intake = Intake::new(capacity);
        let work = Arc::new(work);
        let on_outcome = Arc::new(on_outcome);
        for _ in 0..workers {
            let (rx, pending) = (intake.rx.clone(), intake.pending.clone());
            let task = detached_worker(
                rx,
                pending,
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

impl<T> DetachedPool<T> {
    /// Queues `item`, waiting while the queue is full; its outcome goes to the pool's
    /// handler. Hands the item back in [`Closed`] if the pool is closed or closes meanwhile.
    /// Cancel-safe (see the [module docs](super)).
    pub async fn submit(&self, item: T) -> Result<(), Closed<T>> {
        self.intake.submit(item).await
    }

    /// Queues `item` if there is room now; otherwise hands it back, telling full from closed.
    pub fn try_submit(&self, item: T) -> Result<(), TrySendError<T>> {
        self.intake.try_submit(item)
    }

    /// Waits until every accepted item has been run and its outcome handled, and no `submit`
    /// is in progress.
    pub async fn wait_idle(&self) {
        self.intake.pending.wait_idle().await;
    }

    /// Stops intake; the workers drain what is queued and then end. Idempotent. Follow with
    /// [`wait_idle`](Self::wait_idle) to wait for the drain.
    pub fn close(&self) {
        self.intake.tx.close();
    }

    /// Stops intake and takes back every item no worker has started, oldest first; they are
    /// not reported to the handler. Items already running finish and are reported as usual.
    pub fn shutdown(&self) -> Vec<T> {
        self.intake.shutdown(|item| item)
    }

    /// Whether the pool was closed.
    #[must_use]
    pub fn is_closed(&self) -> bool {
        self.intake.tx.is_closed()
    }

    /// How many items wait in the queue now (not counting those running).
    #[must_use]
    pub fn queued(&self) -> usize {
        self.intake.tx.len()
    }

    /// How many accepted items are not yet handled (queued or running), plus submissions in
    /// progress. While the workers are busy this is an upper bound: each worker counts the
    /// items it finished off in bulk, when it finds the queue empty, or after every item while
    /// a [`wait_idle`](Self::wait_idle) is in progress (which therefore returns as promptly
    /// as ever). This keeps the workers off one shared counter on the hot path.
    #[must_use]
    pub fn pending(&self) -> usize {
        self.intake.pending.get()
    }

    /// The queue's capacity.
    #[must_use]
    pub fn capacity(&self) -> usize {
        self.intake.tx.capacity().unwrap_or(usize::MAX)
    }
}

/// What both spawned pools share: the two ends of the queue and the count of pending items.
struct Intake<J> {
    tx: async_channel::Sender<J>,
    rx: async_channel::Receiver<J>,
    pending: Arc<Pending>,
}

impl<J> Clone for Intake<J> {
    fn clone(&self) -> Self {
        Intake {
            tx: self.tx.clone(),
            rx: self.rx.clone(),
            pending: self.pending.clone(),
        }
    }
}

impl<J> Intake<J> {
    fn new(capacity: usize) -> Self {
        let (tx, rx) = async_channel::bounded(capacity);
        Intake {
            tx,
            rx,
            pending: Arc::new(Pending::new()),
        }
    }

    /// Queues `job`, counted as pending from before the send, so `wait_idle` cannot miss it.
    async fn submit(&self, job: J) -> Result<(), Closed<J>> {
        let guard = self.pending.add();
        self.tx
            .send(job)
            .await
            .map_err(|async_channel::SendError(job)| Closed(job))?;
        guard.keep();
        Ok(())
    }

    fn try_submit(&self, job: J) -> Result<(), TrySendError<J>> {
        let guard = self.pending.add();
        match self.tx.try_send(job) {
            Ok(()) => {
                guard.keep();
                Ok(())
            }
            Err(async_channel::TrySendError::Full(job)) => Err(TrySendError::Full(job)),
            Err(async_channel::TrySendError::Closed(job)) => Err(TrySendError::Closed(job)),
        }
    }

    /// Closes the queue and takes back what no worker started, oldest first.
    fn shutdown<T>(&self, item: impl Fn(J) -> T) -> Vec<T> {
        self.tx.close();
        let undone: Vec<T> = core::iter::from_fn(|| self.rx.try_recv().ok().map(&item)).collect();
        self.pending.done(undone.len());
        undone
    }

    fn debug(&self, name: &str, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct(name)
            .field("queued", &self.tx.len())
            .field("capacity", &self.tx.capacity())
            .field("pending", &self.pending.get())
            .field("closed", &self.tx.is_closed())
            .finish()
    }
}

fn check(workers: usize, capacity: usize) -> Result<(), ConfigError> {
    if workers == 0 {
        return Err(super::error::invalid("workers", "must be at least 1"));
    }
    if capacity == 0 {
        return Err(super::error::invalid("capacity", "must be at least 1"));
    }
    Ok(())
}

async fn detached_worker<T, O, F, Fut, H, S>(
    rx: async_channel::Receiver<T>,
    pending: Arc<Pending>,
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
    // Items are counted off in bulk: while `wait_idle` is in progress, after each; otherwise
    // whenever the queue is empty, before waiting for more (a busy pool is not idle anyway).
    let mut done = DoneLater {
        pending: &pending,
        count: 0,
    };
    loop {
        let item = match rx.try_recv() {
            Ok(item) => item,
            Err(_) => {
                done.flush();
                match rx.recv().await {
                    Ok(item) => item,
                    Err(_) => break,
                }
            }
        };
        // Counted now, reported by `flush` once the handler has returned; if this task is
        // dropped meanwhile, `DoneLater`'s drop counts it off with the rest.
        done.count += 1;
        let outcome = contained(&work, item, &spawner).await;
        handle(&*on_outcome, outcome);
        if pending.watched() {
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
    use std::panic::{AssertUnwindSafe, catch_unwind};
    // The panic hook has reported it; the worker takes the next item.
    let _ = catch_unwind(AssertUnwindSafe(|| on_outcome(outcome)));
}

/// Passes `outcome` to the handler.
#[cfg(not(feature = "std"))]
fn handle<O>(on_outcome: &impl Fn(Result<O, WorkError>), outcome: Result<O, WorkError>) {
    on_outcome(outcome);
}

async fn worker<T, O, F, Fut, S>(
    rx: async_channel::Receiver<Job<T, O>>,
    pending: Arc<Pending>,
    work: Arc<F>,
    spawner: S,
) where
    T: Send + 'static,
    O: Send + 'static,
    F: Fn(T) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = O> + Send + 'static,
    S: Spawn,
    S::Handle<O>: Send,
{
    while let Ok(Job { item, reply }) = rx.recv().await {
        let _done = DoneGuard(&pending);
        reply.send(contained(&work, item, &spawner).await);
    }
}

/// Counts an item off when dropped, after its reply was sent (or dropped).
struct DoneGuard<'a>(&'a Pending);

impl Drop for DoneGuard<'_> {
    fn drop(&mut self) {
        self.0.done(1);
    }
}

/// Runs one item, turning a panic into [`WorkError::Panicked`].
#[cfg(feature = "std")]
async fn contained<T, O, F, Fut, S>(work: &Arc<F>, item: T, _spawner: &S) -> Result<O, WorkError>
where
    F: Fn(T) -> Fut,
    Fut: Future<Output = O>,
{
    use std::panic::{AssertUnwindSafe, catch_unwind};
    let panicked = |p| WorkError::Panicked(crate::JoinError::Panicked(p));
    let future = catch_unwind(AssertUnwindSafe(|| work(item))).map_err(panicked)?;
    CatchUnwind { future }.await.map_err(panicked)
}

/// Runs one item as a task of its own, turning a panic into [`WorkError::Panicked`].
#[cfg(not(feature = "std"))]
async fn contained<T, O, F, Fut, S>(work: &Arc<F>, item: T, spawner: &S) -> Result<O, WorkError>
where
    T: Send + 'static,
    O: Send + 'static,
    F: Fn(T) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = O> + Send + 'static,
    S: Spawn,
{
    let work = work.clone();
    spawner
        .spawn(async move { work(item).await })
        .await
        .map_err(WorkError::from)
}

#[cfg(feature = "std")]
pin_project_lite::pin_project! {
    struct CatchUnwind<F> {
        #[pin]
        future: F,
    }
}

#[cfg(feature = "std")]
impl<F: Future> Future for CatchUnwind<F> {
    type Output = Result<F::Output, alloc::boxed::Box<dyn core::any::Any + Send>>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let future = self.project().future;
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| future.poll(cx))) {
            Ok(Poll::Pending) => Poll::Pending,
            Ok(Poll::Ready(out)) => Poll::Ready(Ok(out)),
            Err(payload) => Poll::Ready(Err(payload)),
        }
    }
}

// A one-shot reply: one allocation per item, no unsafe.

enum Slot<O> {
    Waiting,
    Done(Result<O, WorkError>),
    Taken,
}

struct Shared<O> {
    slot: Mutex<Slot<O>>,
    cell: WaitCell,
}

fn channel<O>() -> (Reply<O>, Completion<O>) {
    let shared = Arc::new(Shared {
        slot: Mutex::new(Slot::Waiting),
        cell: WaitCell::new(),
    });
    (Reply(Some(shared.clone())), Completion { shared })
}

/// The sending half: dropped without sending, it reports [`WorkError::Cancelled`].
struct Reply<O>(Option<Arc<Shared<O>>>);

impl<O> Reply<O> {
    fn send(mut self, out: Result<O, WorkError>) {
        if let Some(shared) = self.0.take() {
            shared.slot.with_lock(|s| *s = Slot::Done(out));
            shared.cell.wake();
        }
    }
}

impl<O> Drop for Reply<O> {
    fn drop(&mut self) {
        if let Some(shared) = self.0.take() {
            shared.slot.with_lock(|s| {
                if let Slot::Waiting = s {
                    *s = Slot::Done(Err(WorkError::Cancelled));
                }
            });
            shared.cell.wake();
        }
    }
}

/// The outcome of one submitted item: `Ok(output)`, or a [`WorkError`] when the work panicked
/// or never finished. Dropping the handle does not cancel the work; its outcome is then
/// discarded.
#[must_use = "the outcome of the item, a panic included, is only seen through this handle"]
pub struct Completion<O> {
    shared: Arc<Shared<O>>,
}

impl<O> Completion<O> {
    /// Whether the outcome is there (awaiting the handle returns at once).
    #[must_use]
    pub fn is_finished(&self) -> bool {
        self.shared.slot.with_lock(|s| matches!(s, Slot::Done(_)))
    }

    fn take(&self) -> Option<Result<O, WorkError>> {
        self.shared
            .slot
            .with_lock(|s| match core::mem::replace(s, Slot::Taken) {
                Slot::Done(out) => Some(out),
                Slot::Waiting => {
                    *s = Slot::Waiting;
                    None
                }
                Slot::Taken => panic!("`Completion` polled after completion"),
            })
    }
}

impl<O> fmt::Debug for Completion<O> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Completion")
            .field("finished", &self.is_finished())
            .finish()
    }
}

impl<O> Future for Completion<O> {
    type Output = Result<O, WorkError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        loop {
            if let Some(out) = self.take() {
                return Poll::Ready(out);
            }
            match self.shared.cell.poll_wait(cx) {
                // Registered: check once more, the reply may have landed meanwhile.
                Poll::Pending => {
                    return match self.take() {
                        Some(out) => Poll::Ready(out),
                        None => Poll::Pending,
                    };
                }
                // A wake-up was stored: look again.
                Poll::Ready(Ok(())) => {}
                // Busy or closed: neither happens with one waiter and a cell never closed;
                // stay correct anyway by asking to be polled again.
                Poll::Ready(Err(_)) => {
                    cx.waker().wake_by_ref();
                    return Poll::Pending;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{JoinError, TaskHandle};
    use alloc::boxed::Box;
    use core::sync::atomic::{AtomicUsize, Ordering};
    use std::task::Wake;

    /// A spawner whose tasks never run: the queue only moves when the test moves it.
    #[derive(Clone)]
    struct Never;

    struct Never2<T>(core::marker::PhantomData<fn() -> T>);
    impl<T> Unpin for Never2<T> {}
    impl<T> Future for Never2<T> {
        type Output = Result<T, JoinError>;
        fn poll(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Self::Output> {
            Poll::Ready(Err(JoinError::Cancelled))
        }
    }
    impl<T> TaskHandle<T> for Never2<T> {
        fn abort(&mut self) {}
        fn is_finished(&self) -> bool {
            true
        }
    }

    impl Spawn for Never {
        type Handle<T: Send + 'static> = Never2<T>;
        fn spawn<F>(&self, future: F) -> Never2<F::Output>
        where
            F: Future + Send + 'static,
            F::Output: Send + 'static,
        {
            drop(future);
            Never2(core::marker::PhantomData)
        }
    }

    struct Count(AtomicUsize);
    impl Wake for Count {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    fn counter() -> (Arc<Count>, core::task::Waker) {
        let c = Arc::new(Count(AtomicUsize::new(0)));
        (c.clone(), core::task::Waker::from(c))
    }

    #[test]
    fn dropped_head_submitter_passes_its_slot_on() {
        let pool = WorkerPool::<u32, u32>::spawn(&Never, 1, 1, |n: u32| async move { n }).unwrap();
        let _zero = pool.try_submit(0).unwrap();
        let (a_woken, a) = counter();
        let (b_woken, b) = counter();
        let mut first = Box::pin(pool.submit(1));
        let mut second = Box::pin(pool.submit(2));
        assert!(
            first
                .as_mut()
                .poll(&mut Context::from_waker(&a))
                .is_pending()
        );
        assert!(
            second
                .as_mut()
                .poll(&mut Context::from_waker(&b))
                .is_pending()
        );
        assert_eq!(pool.pending(), 3);
        // A worker takes item 0: the slot goes to the head waiter, which is dropped unpolled.
        let job = pool.intake.rx.try_recv().ok().unwrap();
        assert_eq!(job.item, 0);
        assert_eq!(a_woken.0.load(Ordering::SeqCst), 1);
        drop(first);
        assert!(
            b_woken.0.load(Ordering::SeqCst) >= 1,
            "the wake-up was passed on"
        );
        assert!(matches!(
            second.as_mut().poll(&mut Context::from_waker(&b)),
            Poll::Ready(Ok(_))
        ));
        assert_eq!(pool.pending(), 2, "the dropped submission counts off");
        // Shutdown hands back item 2; its handle says `Cancelled`.
        assert_eq!(pool.shutdown(), [2]);
        drop(job);
    }

    /// One thread per task, each running its future to completion.
    #[derive(Clone)]
    struct Threads;

    struct Joined<T>(Option<std::thread::JoinHandle<T>>);
    impl<T> Unpin for Joined<T> {}
    impl<T> Future for Joined<T> {
        type Output = Result<T, JoinError>;
        fn poll(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Self::Output> {
            let handle = self.0.take().expect("polled after completion");
            Poll::Ready(handle.join().map_err(JoinError::Panicked))
        }
    }
    impl<T> TaskHandle<T> for Joined<T> {
        fn abort(&mut self) {}
        fn is_finished(&self) -> bool {
            self.0
                .as_ref()
                .is_none_or(std::thread::JoinHandle::is_finished)
        }
    }

    impl Spawn for Threads {
        type Handle<T: Send + 'static> = Joined<T>;
        fn spawn<F>(&self, future: F) -> Joined<F::Output>
        where
            F: Future + Send + 'static,
            F::Output: Send + 'static,
        {
            Joined(Some(std::thread::spawn(move || {
                futures_executor::block_on(future)
            })))
        }
    }

    #[test]
    fn detached_pool_refuses_bad_settings() {
        let e = DetachedPool::<u32>::spawn(&Never, 0, 1, |n: u32| async move { n }, |_| {});
        assert_eq!(e.unwrap_err().field(), "workers");
        let e = DetachedPool::<u32>::spawn(&Never, 1, 0, |n: u32| async move { n }, |_| {});
        assert_eq!(e.unwrap_err().field(), "capacity");
    }

    #[test]
    fn detached_pool_hands_outcomes_and_panics_to_the_handler() {
        let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
        let s = seen.clone();
        let pool = DetachedPool::spawn(
            &Threads,
            3,
            4,
            |n: u32| async move {
                assert!(n != 3, "item three exploded");
                n * 10
            },
            move |out: Result<u32, WorkError>| {
                // A panicking handler loses that outcome only; the worker goes on.
                assert!(!matches!(out, Ok(50)), "the handler exploded");
                let out = out.map_err(|e| e.panic_message().map(|m| m.into_owned()));
                s.lock().unwrap().push(out);
            },
        )
        .unwrap();
        futures_executor::block_on(async {
            for i in 0..20 {
                pool.submit(i).await.unwrap();
            }
            pool.wait_idle().await;
        });
        assert_eq!(pool.pending(), 0);
        let mut seen = core::mem::take(&mut *seen.lock().unwrap());
        seen.sort();
        let mut expected: Vec<_> = (0..20)
            .filter(|&i| i != 3 && i != 5)
            .map(|i| Ok(i * 10))
            .collect();
        expected.push(Err(Some("item three exploded".into())));
        expected.sort();
        assert_eq!(seen, expected);
        pool.close();
        assert!(matches!(pool.try_submit(1), Err(TrySendError::Closed(1))));
    }

    #[test]
    fn detached_pool_wait_idle_sees_every_outcome_of_busy_workers() {
        // Workers count items off in bulk: `wait_idle` must still return, and only once the
        // handler has seen every item, however the submissions and the workers interleave.
        let handled = Arc::new(AtomicUsize::new(0));
        let h = handled.clone();
        let pool = DetachedPool::spawn(
            &Threads,
            4,
            8,
            |n: u32| async move { n },
            move |_| {
                h.fetch_add(1, Ordering::SeqCst);
            },
        )
        .unwrap();
        futures_executor::block_on(async {
            for round in 1..=200 {
                for i in 0..(round % 37) {
                    pool.submit(i).await.unwrap();
                }
                pool.wait_idle().await;
                let expected = (1..=round).map(|r| r % 37).sum::<u32>() as usize;
                assert_eq!(handled.load(Ordering::SeqCst), expected, "round {round}");
                assert_eq!(pool.pending(), 0);
            }
        });
        pool.close();
    }

    #[test]
    fn detached_pool_pushes_back_and_shutdown_returns_the_queued_items() {
        let reported = Arc::new(AtomicUsize::new(0));
        let r = reported.clone();
        let pool = DetachedPool::spawn(
            &Never,
            1,
            2,
            |n: u32| async move { n },
            move |_| {
                r.fetch_add(1, Ordering::SeqCst);
            },
        )
        .unwrap();
        assert_eq!(pool.capacity(), 2);
        pool.try_submit(0).unwrap();
        pool.try_submit(1).unwrap();
        assert!(matches!(pool.try_submit(2), Err(TrySendError::Full(2))));
        assert_eq!((pool.queued(), pool.pending()), (2, 2));
        let mut blocked = Box::pin(pool.submit(3));
        assert!(
            blocked
                .as_mut()
                .poll(&mut Context::from_waker(core::task::Waker::noop()))
                .is_pending()
        );
        assert_eq!(pool.pending(), 3, "a submission in progress counts");
        assert_eq!(pool.shutdown(), [0, 1]);
        assert!(matches!(
            blocked
                .as_mut()
                .poll(&mut Context::from_waker(core::task::Waker::noop())),
            Poll::Ready(Err(Closed(3)))
        ));
        drop(blocked);
        assert_eq!(pool.pending(), 0);
        assert!(pool.is_closed());
        assert!(matches!(pool.try_submit(4), Err(TrySendError::Closed(4))));
        assert_eq!(
            reported.load(Ordering::SeqCst),
            0,
            "handed back, not reported"
        );
        assert!(futures_executor::block_on(pool.submit(5)).is_err());
    }

    #[test]
    fn detached_pool_dropped_head_submitter_passes_its_slot_on() {
        let pool = DetachedPool::spawn(&Never, 1, 1, |n: u32| async move { n }, |_| {}).unwrap();
        pool.try_submit(0).unwrap();
        let (a_woken, a) = counter();
        let (b_woken, b) = counter();
        let mut first = Box::pin(pool.submit(1));
        let mut second = Box::pin(pool.submit(2));
        assert!(
            first
                .as_mut()
                .poll(&mut Context::from_waker(&a))
                .is_pending()
        );
        assert!(
            second
                .as_mut()
                .poll(&mut Context::from_waker(&b))
                .is_pending()
        );
        // A worker takes item 0: the slot goes to the head waiter, which is dropped unpolled.
        assert_eq!(pool.intake.rx.try_recv(), Ok(0));
        assert_eq!(a_woken.0.load(Ordering::SeqCst), 1);
        drop(first);
        assert!(
            b_woken.0.load(Ordering::SeqCst) >= 1,
            "the wake-up was passed on"
        );
        assert!(matches!(
            second.as_mut().poll(&mut Context::from_waker(&b)),
            Poll::Ready(Ok(()))
        ));
        assert_eq!(pool.shutdown(), [2]);
    }
}
