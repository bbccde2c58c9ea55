//! A batcher: items go in one at a time and come out in batches.
//!
//! # The rule
//!
//! A batch is flushed when it holds [`batch_size`](BatchConfig::batch_size) items, or when
//! [`flush_interval`](BatchConfig::flush_interval) has passed since its **first** item was
//! added, whichever comes first. An empty batch is never flushed. Batches keep the order in
//! which items were added, and one batch is flushed at a time: the next batch starts to be
//! flushed only after the flush function returned for the previous one.
//!
//! Items are time-stamped when they enter the batcher, so an item added while a flush is in
//! progress still counts its interval from the moment it was added: if that interval has run
//! out by the time the flush returns, its batch is flushed at once with what is there.
//!
//! # Three forms
//!
//! | | holds | flushing runs | batch type |
//! |---|---|---|---|
//! | [`FixedBatcher<T, Tm, N>`](FixedBatcher) | up to `N` items in place, no heap, `const fn new` | in the driver future [`run`](FixedBatcher::run), inside your own task | [`FixedBatch<T, N>`](FixedBatch) |
//! | [`Batcher`] (feature `alloc`) | up to `capacity` items | in a task spawned through [`Spawn`](crate::Spawn) | `Vec<T>` |
//! | [`Batches`] (feature `alloc`) | the current batch | when the consumer polls the stream | `Vec<T>` |
//!
//! # Backpressure, closing, dropping, errors
//!
//! - **Bounded.** The batcher holds at most `N` (or `capacity`) items, counting those not yet
//!   taken into a flush. When flushing is slower than intake, [`add`](FixedBatcher::add) waits
//!   for room and [`try_add`](FixedBatcher::try_add) hands the item back.
//! - **Close** stops intake (later and waiting `add`s get their item back in
//!   [`Closed`]) and flushes everything held, in batches of at most
//!   `batch_size`, without waiting for the interval; then the driver (or the background task)
//!   ends. A close during a flush lets that flush finish first.
//! - **Dropping.** Held items belong to the batcher, not to the driver: dropping the driver
//!   future while it waits loses nothing (a new driver picks the items up). Dropping it during
//!   a flush cancels that flush (the batch is owned by the flush function's future). Dropping a
//!   [`FixedBatcher`] drops the items it still holds, so close it and let the driver finish
//!   first. Dropping every handle of a spawned [`Batcher`] closes it: the background task
//!   flushes what is held and ends, nothing is lost.
//! - **Errors.** The flush function returns `Result<(), E>`; every `Err` is passed to the
//!   `on_error` handler given with it, never swallowed. A panic in the flush function
//!   propagates out of the driver; in the spawned form the background task's handle reports it
//!   as a [`JoinError`](crate::JoinError), and the batcher closes: later adds get their items
//!   back, and the items it still held are dropped with it.
//! - **Cancellation of `add`.** Dropping an `add` future before it completes drops its item
//!   and nothing else: the item is either held by the batcher (the future completed) or not.
//!
//! # Example
//!
//! ```
//! # #[cfg(feature = "alloc")] {
//! use core::cell::RefCell;
//! use core::time::Duration;
//! use futures_util::future::join;
//! use steadfast::batch::{BatchConfig, FixedBatch, FixedBatcher};
//! use steadfast::{Timer, VirtualTimer};
//!
//! let timer = VirtualTimer::new();
//! let config = BatchConfig::new(3, Duration::from_secs(10)).unwrap();
//! let batcher: FixedBatcher<u32, _, 8> = FixedBatcher::try_new(timer.clone(), config).unwrap();
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
//!             batcher.add(i).await.unwrap(); // 1, 2, 3 fill a batch at once
//!         }
//!         timer.sleep(Duration::from_secs(15)).await; // 4 waits for its interval
//!         batcher.add(5).await.unwrap();
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

mod error;
#[cfg(feature = "alloc")]
mod spawned;
#[cfg(feature = "alloc")]
mod stream;

use core::fmt;
use core::future::Future;
use core::pin::pin;
use core::time::Duration;

use heapless::Deque;
use maitake_sync::WaitQueue;
use maitake_sync::blocking::Mutex;

use crate::queue::{Closed, TrySendError};
use crate::{Instant, Timer};

pub use error::ConfigError;
/// A batch of the spawn-free form: a fixed-capacity vector (`heapless::Vec`), holding at most
/// the batcher's capacity `N`.
pub use heapless::Vec as FixedBatch;
#[cfg(feature = "alloc")]
pub use spawned::Batcher;
#[cfg(feature = "alloc")]
pub use stream::{Batches, batches};

/// When a batch is flushed: at `batch_size` items, or `flush_interval` after its first item.
/// Both are checked at construction.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[must_use = "a configuration does nothing until a batcher is built with it"]
pub struct BatchConfig {
    batch_size: usize,
    flush_interval: Duration,
}

impl BatchConfig {
    /// A batch is flushed when it holds `batch_size` items or `flush_interval` after its first
    /// item was added, whichever comes first.
    ///
    /// # Errors
    ///
    /// [`ConfigError`] naming `batch_size` when it is 0, or `flush_interval` when it is zero.
    pub const fn new(batch_size: usize, flush_interval: Duration) -> Result<Self, ConfigError> {
        if batch_size == 0 {
            return Err(error::invalid("batch_size", "must be at least 1"));
        }
        if flush_interval.is_zero() {
            return Err(error::invalid("flush_interval", "must be more than zero"));
        }
        Ok(BatchConfig {
            batch_size,
            flush_interval,
        })
    }

    /// The most items in one batch.
    #[must_use]
    pub const fn batch_size(&self) -> usize {
        self.batch_size
    }

    /// The longest an item waits for its batch to fill, counted from the batch's first item.
    #[must_use]
    pub const fn flush_interval(&self) -> Duration {
        self.flush_interval
    }
}

/// Where a batcher holds its items, each with the instant it was added.
pub(crate) trait Store<T> {
    type Batch;
    fn len(&self) -> usize;
    fn is_full(&self) -> bool;
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
    fn is_full(&self) -> bool {
        Deque::is_full(self)
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

struct State<S> {
    store: S,
    closed: bool,
}

/// The batcher's machinery, shared by the fixed and the spawned forms.
pub(crate) struct Inner<T, Tm, S> {
    timer: Tm,
    config: BatchConfig,
    state: Mutex<State<S>>,
    /// Producers waiting for room.
    space: WaitQueue,
    /// Drivers waiting for a first item, a full batch or the close.
    ready: WaitQueue,
    _items: core::marker::PhantomData<fn(T) -> T>,
}

impl<T, Tm: Timer, S: Store<T>> Inner<T, Tm, S> {
    pub(crate) const fn new(timer: Tm, config: BatchConfig, store: S) -> Self {
        Inner {
            timer,
            config,
            state: Mutex::new(State {
                store,
                closed: false,
            }),
            space: WaitQueue::new(),
            ready: WaitQueue::new(),
            _items: core::marker::PhantomData,
        }
    }

    /// Pushes the item out of `slot` unless full (`None`) or closed (`Some(())`, item left).
    fn try_push(&self, slot: &mut Option<T>) -> Option<()> {
        let stamp = self.timer.now();
        let len = self.state.with_lock(|s| {
            if s.closed {
                return Some(None);
            }
            if s.store.is_full() {
                return None;
            }
            let item = slot.take()?;
            match s.store.push(stamp, item) {
                Ok(()) => Some(Some(s.store.len())),
                Err(item) => {
                    *slot = Some(item);
                    None
                }
            }
        })?;
        // The driver waits for a first item (to start the interval) or a full batch.
        if let Some(len) = len {
            if len == 1 || len == self.config.batch_size {
                self.ready.wake_all();
            }
        }
        Some(())
    }

    pub(crate) async fn add(&self, item: T) -> Result<(), Closed<T>> {
        let mut slot = Some(item);
        // Room or close: both end the wait. An `Err` means the wait queue was closed.
        let _ = self.space.wait_for_value(|| self.try_push(&mut slot)).await;
        match slot {
            None => Ok(()),
            Some(item) => Err(Closed(item)),
        }
    }

    pub(crate) fn try_add(&self, item: T) -> Result<(), TrySendError<T>> {
        let mut slot = Some(item);
        let outcome = self.try_push(&mut slot);
        match (slot, outcome) {
            (None, _) => Ok(()),
            (Some(item), Some(())) => Err(TrySendError::Closed(item)),
            (Some(item), None) => Err(TrySendError::Full(item)),
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

    pub(crate) fn held(&self) -> usize {
        self.state.with_lock(|s| s.store.len())
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
            let batch = self.state.with_lock(|s| s.store.take(size));
            self.space.wake_all();
            if let Some(batch) = batch {
                if let Err(e) = flush(batch).await {
                    on_error(e);
                }
            }
        }
    }
}

/// A batcher holding up to `N` items in place, with no heap: the spawn-free form. Flushing
/// runs in the driver future [`run`](Self::run), which you run in your own task. See the
/// [module docs](self) for the rule and the semantics.
///
/// `const fn new` puts it in a `static`:
///
/// ```
/// use core::time::Duration;
/// use steadfast::batch::{BatchConfig, FixedBatcher};
/// # #[derive(Clone)] struct MyTimer;
/// # impl steadfast::Timer for MyTimer {
/// #     type Sleep = core::future::Pending<()>;
/// #     fn now(&self) -> steadfast::Instant { steadfast::Instant::ZERO }
/// #     fn sleep_until(&self, _: steadfast::Instant) -> Self::Sleep { core::future::pending() }
/// # }
///
/// const CONFIG: BatchConfig = match BatchConfig::new(16, Duration::from_millis(500)) {
///     Ok(config) => config,
///     Err(_) => panic!("bad batch settings"), // a compile error, in a `const`
/// };
/// static READINGS: FixedBatcher<u16, MyTimer, 32> = FixedBatcher::new(MyTimer, CONFIG);
/// assert_eq!(READINGS.capacity(), 32);
/// ```
pub struct FixedBatcher<T, Tm, const N: usize> {
    inner: Inner<T, Tm, Deque<(Instant, T), N>>,
}

impl<T, Tm: Timer, const N: usize> FixedBatcher<T, Tm, N> {
    const CAPACITY_IS_NOT_ZERO: () =
        assert!(N > 0, "a FixedBatcher needs a capacity of at least 1");

    /// An open batcher with room for `N` items, flushing by `config`, for `static`s and
    /// `const`s. `N == 0` is a compile-time error.
    ///
    /// # Panics
    ///
    /// When `N` is smaller than `config.batch_size()` (a batch could never fill). In a `static`
    /// or `const` that is a compile-time error; at run time use [`try_new`](Self::try_new),
    /// which returns the error instead.
    #[must_use]
    pub const fn new(timer: Tm, config: BatchConfig) -> Self {
        let () = Self::CAPACITY_IS_NOT_ZERO;
        assert!(
            N >= config.batch_size,
            "FixedBatcher: the capacity N must be at least batch_size"
        );
        FixedBatcher {
            inner: Inner::new(timer, config, Deque::new()),
        }
    }

    /// An open batcher with room for `N` items, flushing by `config`; the checked form of
    /// [`new`](Self::new).
    ///
    /// # Errors
    ///
    /// [`ConfigError`] naming `capacity` when `N` is smaller than the batch size.
    pub fn try_new(timer: Tm, config: BatchConfig) -> Result<Self, ConfigError> {
        if N < config.batch_size {
            return Err(error::invalid("capacity", "must be at least batch_size"));
        }
        Ok(Self::new(timer, config))
    }

    /// Adds `item`, waiting while the batcher is full. Hands the item back in [`Closed`] if
    /// the batcher is closed or closes meanwhile. Cancel-safe (see the [module docs](self)).
    pub async fn add(&self, item: T) -> Result<(), Closed<T>> {
        self.inner.add(item).await
    }

    /// Adds `item` if there is room now; otherwise hands it back, telling full from closed.
    pub fn try_add(&self, item: T) -> Result<(), TrySendError<T>> {
        self.inner.try_add(item)
    }

    /// Stops intake and makes the driver flush everything held at once, then end. Idempotent.
    pub fn close(&self) {
        self.inner.close();
    }

    /// Whether the batcher was closed.
    #[must_use]
    pub fn is_closed(&self) -> bool {
        self.inner.is_closed()
    }

    /// How many items are held and not yet taken into a flush.
    #[must_use]
    pub fn held(&self) -> usize {
        self.inner.held()
    }

    /// How many items the batcher holds at most, `N`.
    #[must_use]
    pub const fn capacity(&self) -> usize {
        N
    }

    /// The settings.
    pub const fn config(&self) -> BatchConfig {
        self.inner.config
    }

    /// The driver: flushes batches by the rule, one at a time, passing every error `flush`
    /// returns to `on_error`. Completes once the batcher is closed and everything held was
    /// flushed. Run one driver per batcher.
    pub async fn run<E, Fut>(
        &self,
        flush: impl FnMut(FixedBatch<T, N>) -> Fut,
        on_error: impl FnMut(E),
    ) where
        Fut: Future<Output = Result<(), E>>,
    {
        self.inner.run(flush, on_error).await;
    }
}

impl<T, Tm, const N: usize> fmt::Debug for FixedBatcher<T, Tm, N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (held, closed) = self.inner.state.with_lock(|s| (s.store.len(), s.closed));
        f.debug_struct("FixedBatcher")
            .field("held", &held)
            .field("capacity", &N)
            .field("closed", &closed)
            .field("config", &self.inner.config)
            .finish()
    }
}

#[cfg(test)]
mod tests;
