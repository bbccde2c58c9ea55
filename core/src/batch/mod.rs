//! A batcher: items go in one at a time and come out in batches.
//!
//! # The rule
//!
//! A batch is flushed when it holds [`batch_size`](Builder::batch_size) items, or when
//! [`flush_interval`](Builder::flush_interval) has passed since its **first** item was
//! submitted, whichever comes first. An empty batch is never flushed. Batches keep the order
//! in which items were accepted, and one batch is flushed at a time: the next batch starts to
//! be flushed only after the flush function returned for the previous one.
//!
//! Items are time-stamped when they enter the batcher, so an item submitted while a flush is
//! in progress still counts its interval from the moment it was submitted: if that interval
//! has run out by the time the flush returns, its batch is flushed at once with what is there.
//!
//! # Three forms
//!
//! | | holds | flushing runs | batch type |
//! |---|---|---|---|
//! | [`FixedBatcher<T, Tm, N>`](FixedBatcher) | up to `N` items in place, no heap, `build_const` for `static`s | in the driver future [`run`](FixedBatcher::run), inside your own task | [`FixedBatch<T, N>`](FixedBatch) |
//! | [`Batcher`] (feature `alloc`) | up to `capacity` items | in a task spawned through [`Spawn`](crate::Spawn) | `Vec<T>` |
//! | [`Batches`] (feature `alloc`) | the current batch | when the consumer polls the stream | `Vec<T>` |
//!
//! Each is built with its `builder(timer)`: set [`batch_size`](Builder::batch_size) and
//! [`flush_interval`](Builder::flush_interval) (both required), and for the spawned form
//! optionally `capacity`; the settings are checked when it is built.
//!
//! # Backpressure, closing, dropping, errors
//!
//! - **Bounded.** The batcher holds at most `N` (or `capacity`) items, counting those not yet
//!   taken into a flush. When flushing is slower than intake, [`submit`](FixedBatcher::submit)
//!   waits for room and [`try_submit`](FixedBatcher::try_submit) hands the item back.
//! - **First come, first served.** Room freed while producers wait goes to the one that
//!   waited longest; a `try_submit` arriving meanwhile is refused rather than taking it.
//! - **Close** stops intake (later and waiting `submit`s get their item back in [`Closed`])
//!   and flushes everything held, in batches of at most `batch_size`, without waiting for the
//!   interval; then the driver (or the background task) ends. A close during a flush lets that
//!   flush finish first.
//! - **Dropping.** Held items belong to the batcher, not to the driver: dropping the driver
//!   future while it waits loses nothing (a new driver picks the items up). Dropping it during
//!   a flush cancels that flush (the batch is owned by the flush function's future). Dropping a
//!   [`FixedBatcher`] drops the items it still holds, so close it and let the driver finish
//!   first. Dropping every handle of a spawned [`Batcher`] closes it: the background task
//!   flushes what is held and ends, nothing is lost.
//! - **Errors.** The flush function returns `Result<(), E>`; every `Err` is passed to the
//!   `on_error` handler given with it, never swallowed. A panic in the flush function
//!   propagates out of the driver; in the spawned form the background task's handle reports it
//!   as a [`JoinError`](crate::JoinError), and the batcher closes: later submissions get their
//!   items back, and the items it still held are dropped with it.
//! - **Cancellation of `submit`.** Dropping a `submit` future before it completes drops its
//!   item and nothing else: the item is either held by the batcher (the future completed) or
//!   not; room granted to it passes to the next waiting producer.
//!
//! Runnable example: `cargo run -p steadfast-tokio --example batch` (flushes by size and by time,
//! and on close).
//!
//! # Example
//!
//! On tokio (`steadfast-tokio`), the background form:
//!
//! ```
//! use std::time::Duration;
//! use steadfast_tokio::{TokioSpawner, TokioTimer, batch::Batcher};
//!
//! # #[tokio::main(flavor = "current_thread", start_paused = true)]
//! # async fn main() {
//! let (batcher, task) = Batcher::builder(TokioTimer::new())
//!     .batch_size(100)
//!     .flush_interval(Duration::from_millis(50))
//!     .capacity(1_000)
//!     .spawn(
//!         &TokioSpawner::current(),
//!         |rows: Vec<u32>| async move {
//!             // Write `rows` in one round trip.
//!             Ok::<(), std::io::Error>(())
//!         },
//!         |err| eprintln!("a batch was not written: {err}"),
//!     )
//!     .unwrap();
//! for row in 0..250 {
//!     batcher.submit(row).await.unwrap();
//! }
//! batcher.close(); // flushes the last, partial batch
//! task.await.unwrap();
//! # }
//! ```
//!
//! On smol (`steadfast-smol`), the stream adapter:
//!
//! ```
//! use std::time::Duration;
//! use futures_util::StreamExt;
//! use steadfast_smol::{AsyncIoTimer, batch::Batches};
//!
//! smol::block_on(async {
//!     let items = futures_util::stream::iter(0..5u32);
//!     let batches: Vec<Vec<u32>> = Batches::builder(AsyncIoTimer::new())
//!         .batch_size(2)
//!         .flush_interval(Duration::from_secs(1))
//!         .build(items)
//!         .unwrap()
//!         .collect()
//!         .await;
//!     assert_eq!(batches, [vec![0, 1], vec![2, 3], vec![4]]);
//! });
//! ```
//!
//! On embassy, the spawn-free form in a `static`, its driver in a task of its own:
//!
//! ```ignore
//! use embassy_time::Duration;
//! use steadfast_embassy::{EmbassyTimer, batch::{FixedBatch, FixedBatcher}};
//!
//! static READINGS: FixedBatcher<u16, EmbassyTimer, 32> = FixedBatcher::builder(EmbassyTimer)
//!     .batch_size(16)
//!     .flush_interval(core::time::Duration::from_millis(500))
//!     .build_const();
//!
//! #[embassy_executor::task]
//! async fn uplink() {
//!     READINGS.run(|batch: FixedBatch<u16, 32>| send(batch), |_err| {}).await;
//! }
//!
//! // Anywhere else: `READINGS.submit(reading).await` or `READINGS.try_submit(reading)`.
//! ```
//!
//! Generic over the clock, tested on [`VirtualTimer`](crate::VirtualTimer):
//!
//! ```
//! # #[cfg(feature = "alloc")] {
//! use core::cell::RefCell;
//! use core::time::Duration;
//! use futures_util::future::join;
//! use steadfast::batch::{FixedBatch, FixedBatcher};
//! use steadfast::{Timer, VirtualTimer};
//!
//! let timer = VirtualTimer::new();
//! let batcher: FixedBatcher<u32, _, 8> = FixedBatcher::builder(timer.clone())
//!     .batch_size(3)
//!     .flush_interval(Duration::from_secs(10))
//!     .build()
//!     .unwrap();
//! let flushed = RefCell::new(Vec::new());
//!
//! futures_executor::block_on(timer.auto_advance(async {
//!     let driver = batcher.run(
//!         |batch: FixedBatch<u32, 8>| {
//!             flushed.borrow_mut().push((timer.now().as_nanos() / 1_000_000_000, batch.to_vec()));
//!             async { Ok::<(), ()>(()) }
//!         },
//!         |_err| {},
//!     );
//!     let producer = async {
//!         for i in 1..=4 {
//!             batcher.submit(i).await.unwrap(); // 1, 2, 3 fill a batch at once
//!         }
//!         timer.sleep(Duration::from_secs(15)).await; // 4 waits for its interval
//!         batcher.submit(5).await.unwrap();
//!         batcher.close(); // 5 is flushed at once
//!     };
//!     join(driver, producer).await;
//! }));
//! assert_eq!(
//!     *flushed.borrow(),
//!     [(0, vec![1, 2, 3]), (10, vec![4]), (15, vec![5])]
//! );
//! # }
//! ```

mod builder;
mod fixed;
#[cfg(feature = "alloc")]
mod spawned;
#[cfg(feature = "alloc")]
mod stream;

use core::future::Future;
use core::pin::pin;
use core::time::Duration;

use crate::sync::{Semaphore, TryAcquireError};
use heapless::Deque;
use maitake_sync::WaitQueue;
use maitake_sync::blocking::Mutex;

use crate::queue::{Closed, TrySendError};
use crate::{ConfigError, Instant, Timer};

pub use builder::Builder;
pub use fixed::{FixedBatch, FixedBatcher};
#[cfg(feature = "alloc")]
pub use spawned::Batcher;
#[cfg(feature = "alloc")]
pub use stream::Batches;

/// When a batch is flushed: at `batch_size` items, or `flush_interval` after its first item.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) struct Config {
    pub(crate) batch_size: usize,
    pub(crate) flush_interval: Duration,
}

impl Config {
    /// Checks the rule's settings, and that `capacity` holds a full batch.
    pub(crate) const fn check(&self, capacity: usize) -> Result<(), ConfigError> {
        if self.batch_size == 0 {
            return Err(invalid("batch_size", "must be at least 1"));
        }
        if self.flush_interval.is_zero() {
            return Err(invalid("flush_interval", "must be more than zero"));
        }
        if capacity < self.batch_size {
            return Err(invalid("capacity", "must be at least batch_size"));
        }
        if capacity > MAX_CAPACITY {
            return Err(invalid("capacity", "must be less than usize::MAX"));
        }
        Ok(())
    }
}

/// The most items a batcher can hold (its semaphore's limit).
const MAX_CAPACITY: usize = Semaphore::MAX_PERMITS;

/// A batcher setting that cannot work.
pub(crate) const fn invalid(field: &'static str, problem: &'static str) -> ConfigError {
    ConfigError::new("batcher", field, problem)
}

/// Where a batcher holds its items, each with the instant it was added.
pub(crate) trait Store<T> {
    type Batch;
    fn len(&self) -> usize;
    fn push(&mut self, stamp: Instant, item: T) -> Result<(), T>;
    fn first_stamp(&self) -> Option<Instant>;
    /// Takes up to `n` of the oldest items, or `None` when there are none.
    fn take(&mut self, n: usize) -> Option<Self::Batch>;
}

impl<T, const N: usize> Store<T> for Deque<(Instant, T), N> {
    type Batch = heapless::Vec<T, N>;

    fn len(&self) -> usize {
        Deque::len(self)
    }
    fn push(&mut self, stamp: Instant, item: T) -> Result<(), T> {
        self.push_back((stamp, item)).map_err(|(_, item)| item)
    }
    fn first_stamp(&self) -> Option<Instant> {
        self.front().map(|(t, _)| *t)
    }
    fn take(&mut self, n: usize) -> Option<Self::Batch> {
        let mut batch = heapless::Vec::new();
        while batch.len() < n {
            let Some((stamp, item)) = self.pop_front() else {
                break;
            };
            if let Err(item) = batch.push(item) {
                // The batch is as large as the store: nothing is left to take. Put it back.
                let _ = self.push_front((stamp, item));
                break;
            }
        }
        (!batch.is_empty()).then_some(batch)
    }
}

pub(crate) struct State<S> {
    pub(crate) store: S,
    pub(crate) closed: bool,
}

/// The batcher's machinery, shared by the fixed and the spawned forms.
pub(crate) struct Inner<T, Tm, S> {
    timer: Tm,
    pub(crate) config: Config,
    pub(crate) capacity: usize,
    pub(crate) state: Mutex<State<S>>,
    /// Free room: a producer takes one permit before it pushes, the driver gives them back as
    /// it takes batches. FIFO: room freed while producers wait goes to the one that waited
    /// longest, and a `try_submit` arriving meanwhile finds none.
    space: Semaphore,
    /// Drivers waiting for a first item, a full batch or the close.
    ready: WaitQueue,
    _items: core::marker::PhantomData<fn(T) -> T>,
}

impl<T, Tm: Timer, S: Store<T>> Inner<T, Tm, S> {
    /// A batcher over an empty `store` of `capacity` items; the settings were checked.
    pub(crate) const fn new(timer: Tm, config: Config, capacity: usize, store: S) -> Self {
        Inner {
            timer,
            config,
            capacity,
            state: Mutex::new(State {
                store,
                closed: false,
            }),
            space: Semaphore::new(capacity),
            ready: WaitQueue::new(),
            _items: core::marker::PhantomData,
        }
    }

    /// Pushes `item` (room for it is held) unless closed, in which case it is handed back.
    fn push(&self, item: T) -> Result<(), Closed<T>> {
        let stamp = self.timer.now();
        let len = self.state.with_lock(|s| {
            if s.closed {
                return Err(Closed(item));
            }
            s.store.push(stamp, item).map_err(Closed)?;
            Ok(s.store.len())
        })?;
        // The driver waits for a first item (to start the interval) or a full batch.
        if len == 1 || len == self.config.batch_size {
            self.ready.wake_all();
        }
        Ok(())
    }

    pub(crate) async fn submit(&self, item: T) -> Result<(), Closed<T>> {
        match self.space.acquire(1).await {
            Ok(room) => {
                self.push(item)?;
                room.forget();
                Ok(())
            }
            Err(_) => Err(Closed(item)),
        }
    }

    pub(crate) fn try_submit(&self, item: T) -> Result<(), TrySendError<T>> {
        match self.space.try_acquire(1) {
            Ok(room) => {
                self.push(item)
                    .map_err(|Closed(item)| TrySendError::Closed(item))?;
                room.forget();
                Ok(())
            }
            Err(TryAcquireError::Closed) => Err(TrySendError::Closed(item)),
            Err(_) if self.is_closed() => Err(TrySendError::Closed(item)),
            Err(_) => Err(TrySendError::Full(item)),
        }
    }

    pub(crate) fn close(&self) {
        self.state.with_lock(|s| s.closed = true);
        self.space.close();
        self.ready.wake_all();
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.state.with_lock(|s| s.closed)
    }

    pub(crate) fn metrics(&self) -> Metrics {
        Metrics {
            held: self.state.with_lock(|s| s.store.len()),
            capacity: self.capacity,
        }
    }

    /// The flush loop: returns once closed and everything held was flushed.
    pub(crate) async fn run<E, Fut>(
        &self,
        mut flush: impl FnMut(S::Batch) -> Fut,
        mut on_error: impl FnMut(E),
    ) where
        Fut: Future<Output = Result<(), E>>,
    {
        let size = self.config.batch_size;
        loop {
            // A first item starts the interval; closed and empty ends the loop.
            let first = self
                .ready
                .wait_for_value(|| {
                    self.state.with_lock(|s| match s.store.first_stamp() {
                        Some(stamp) => Some(Some(stamp)),
                        None if s.closed => Some(None),
                        None => None,
                    })
                })
                .await;
            let Ok(Some(stamp)) = first else { return };
            let deadline = stamp.saturating_add(self.config.flush_interval);
            {
                let full =
                    pin!(self.ready.wait_for(|| {
                        self.state.with_lock(|s| s.closed || s.store.len() >= size)
                    }));
                let due = pin!(self.timer.sleep_until(deadline));
                futures_util::future::select(full, due).await;
            }
            let batch = self.state.with_lock(|s| {
                let before = s.store.len();
                let batch = s.store.take(size);
                (batch, before - s.store.len())
            });
            let (batch, taken) = batch;
            self.space.add_permits(taken);
            if let Some(batch) = batch {
                if let Err(e) = flush(batch).await {
                    on_error(e);
                }
            }
        }
    }
}

/// A batcher's counters at one instant, from `metrics()`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Metrics {
    /// Items held and not yet taken into a flush.
    pub held: usize,
    /// The most items the batcher holds.
    pub capacity: usize,
}

#[cfg(test)]
mod tests;
