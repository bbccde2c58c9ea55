//! A worker pool: N workers take items from a bounded queue and run them.
//!
//! Three forms, one behaviour:
//!
//! | | [`WorkerPool`] (feature `alloc`) | [`DetachedPool`] (feature `alloc`) | [`FixedPool<T, N>`](FixedPool) |
//! |---|---|---|---|
//! | workers | tasks spawned through [`Spawn`](crate::Spawn), on every core | tasks spawned through [`Spawn`](crate::Spawn), on every core | futures inside one driver future you run in your own task ([`run`](FixedPool::run)); no spawner, no heap |
//! | queue | capacity set at run time; grows as items arrive, up to it | the same | [`BoundedQueue<T, N>`](crate::queue::BoundedQueue), capacity a `const` generic, `const fn new` for `static`s |
//! | built with | [`WorkerPool::builder`] | [`DetachedPool::builder`] | [`FixedPool::new`] |
//! | outcome of an item | a [`Completion`] handle per submission | passed to the `on_outcome` handler given at construction | passed to the `report` callback given to the driver |
//!
//! Every form reports an item's outcome as `Result<O, WorkError>`.
//!
//! # Which form to pick
//!
//! - [`WorkerPool`] when the submitter wants the outcome of *its* item back, where it
//!   submitted it (a request waiting for its own result). The handle costs an allocation and
//!   a wake-up per item: several times the queue's own cost for trivial work.
//! - [`DetachedPool`] for fire-and-forget throughput: outcomes (and panics) go to one handler
//!   that counts, logs or forwards them. Submitting allocates no handle, so the pool runs at
//!   about the speed of its queue (with the `std` feature; without it, a panic can only be
//!   caught by running each item as a task of its own, which costs a spawn per item).
//! - [`FixedPool`] without a spawner or without a heap (embassy, firmware): one driver future
//!   runs the workers inside your task.
//!
//! # Semantics
//!
//! - **Backpressure.** `submit` waits while the queue is full; `try_submit` hands the item back
//!   at once when the queue is full or closed. Nothing grows without bound.
//! - **Order.** Producers are served first come, first served: a slot freed while producers
//!   wait goes to the one that waited longest, and a `try_submit` arriving meanwhile is
//!   refused rather than taking it. Items are taken from the queue in the order they were
//!   accepted (FIFO) by whichever worker is free; with more than one worker they may finish in
//!   any order.
//! - **Cancellation.** Dropping a `submit` future before it completes drops the item it owned
//!   and leaves no trace in the pool; a slot granted to it passes to the next waiting producer.
//! - **Nothing is lost.** Every accepted item is, exactly once, either reported (its output,
//!   its panic as [`WorkError::Panicked`], or [`WorkError::Cancelled`] when the worker running
//!   it was dropped: a dropped [`FixedPool`] driver, a runtime shutting down) or handed back by
//!   `shutdown`. Items still queued when workers go stay queued: for another driver, or for
//!   `shutdown`.
//! - **`wait_idle`** (asyncio's `Queue.join`) returns once every accepted item has been
//!   reported or handed back and no `submit` is in progress; more may be submitted afterwards.
//!   It does not return while accepted items wait in the queue of a pool whose workers are
//!   gone.
//! - **`close`** stops intake (later submissions are handed back) and lets the workers drain
//!   what is queued; the workers then end (the [`FixedPool`] driver future completes). Follow
//!   it with `wait_idle` to wait for the drain.
//! - **`shutdown`** is the immediate stop: it closes intake and returns the items that no
//!   worker has started, oldest first. Items already running finish and are reported as usual.
//!   Returned items are not reported otherwise: a [`WorkerPool`] handle of one resolves to
//!   [`WorkError::Cancelled`], a [`DetachedPool`] handler or a [`FixedPool`] `report` never sees
//!   it (the caller holds it).
//!
//! # Panics
//!
//! With the `std` feature every form catches a panic in the work and reports it for that item
//! as [`WorkError::Panicked`]; the pool goes on. Without `std` the spawned forms run each item
//! as a task of their own to catch it at the task boundary; the [`FixedPool`] runs user code
//! inside the caller's own task, with no task boundary, so a panic propagates out of the
//! driver (on firmware, which aborts on panic, that is the end). A panic in the [`FixedPool`]'s
//! `report` propagates out of the driver. In every case the pool stays consistent: queued
//! items stay queued.
//!
//! Runnable examples:
//!
//! - `cargo run -p steadfast-tokio --example pool`: `WorkerPool` with a panicking item and a
//!   `shutdown` that hands back the undone items.
//! - `cargo run -p steadfast-smol --example fixed_pool`: the spawn-free `FixedPool` in a `static`,
//!   in virtual time.
//!
//! # Example
//!
//! On tokio (`steadfast-tokio`):
//!
//! ```
//! use steadfast_tokio::{TokioSpawner, pool::WorkerPool};
//!
//! # #[tokio::main(flavor = "current_thread", start_paused = true)]
//! # async fn main() {
//! let pool = WorkerPool::builder()
//!     .workers(4)
//!     .capacity(64)
//!     .spawn(&TokioSpawner::current(), |n: u32| async move {
//!         if n == 3 { panic!("three is bad") }
//!         n * 2
//!     })
//!     .unwrap();
//! let four = pool.submit(2).await.unwrap();
//! let three = pool.submit(3).await.unwrap();
//! assert_eq!(four.await.unwrap(), 4);
//! assert_eq!(three.await.unwrap_err().panic_message(), Some("three is bad"));
//! pool.close();
//! pool.wait_idle().await;
//! # }
//! ```
//!
//! On smol (`steadfast-smol`), with every outcome going to one handler:
//!
//! ```
//! use std::sync::Arc;
//! use std::sync::atomic::{AtomicU32, Ordering};
//! use steadfast_smol::{SmolSpawner, pool::DetachedPool};
//!
//! let sum = Arc::new(AtomicU32::new(0));
//! let s = sum.clone();
//! smol::block_on(async {
//!     let pool = DetachedPool::builder()
//!         .workers(2)
//!         .capacity(16)
//!         .spawn(&SmolSpawner::global(), |n: u32| async move { n * 2 }, move |outcome| {
//!             s.fetch_add(outcome.unwrap(), Ordering::SeqCst);
//!         })
//!         .unwrap();
//!     for n in 1..=4 {
//!         pool.submit(n).await.unwrap();
//!     }
//!     pool.wait_idle().await;
//! });
//! assert_eq!(sum.load(Ordering::SeqCst), 20);
//! ```
//!
//! On embassy, the spawn-free form in a `static`, its driver in a task of its own:
//!
//! ```ignore
//! use steadfast_embassy::pool::{FixedPool, WorkError};
//!
//! static POOL: FixedPool<u16, 8> = FixedPool::new();
//!
//! #[embassy_executor::task]
//! async fn workers() {
//!     // Two workers; a reading's outcome goes to `report`.
//!     POOL.run::<2, _, _>(|reading: u16| store(reading), |outcome: Result<(), WorkError>| {
//!         if outcome.is_err() { defmt::warn!("a reading was not stored") }
//!     })
//!     .await;
//! }
//!
//! // Anywhere else: `POOL.submit(reading).await` or `POOL.try_submit(reading)`.
//! ```
//!
//! Generic over the clock, tested on [`VirtualTimer`](crate::VirtualTimer):
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
//!         |out| total.set(total.get() + out.unwrap()),
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

#[cfg(feature = "alloc")]
mod builder;
#[cfg(feature = "alloc")]
mod detached;
mod error;
mod fixed;
#[cfg(feature = "alloc")]
mod intake;
mod pending;
#[cfg(feature = "alloc")]
mod reply;
#[cfg(feature = "alloc")]
mod worker_pool;

#[cfg(feature = "alloc")]
pub use builder::Builder;
#[cfg(feature = "alloc")]
pub use detached::DetachedPool;
pub use error::WorkError;
pub use fixed::FixedPool;
#[cfg(feature = "alloc")]
pub use reply::Completion;
#[cfg(feature = "alloc")]
pub use worker_pool::WorkerPool;

/// A pool's counters at one instant, from `metrics()`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Metrics {
    /// Items waiting in the queue, not counting those running.
    pub queued: usize,
    /// Accepted items not yet reported or handed back (queued or running), plus submissions
    /// in progress.
    pub pending: usize,
    /// The most items the queue holds.
    pub capacity: usize,
}

#[cfg(test)]
mod tests;
