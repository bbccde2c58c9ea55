//! Limit how much work runs at once, and say what happens to the rest.
//!
//! A [`Bulkhead`] hands out at most `max_concurrent` permits. Work runs while it holds one:
//! [`run`](Bulkhead::run) acquires a permit, runs the future and releases the permit when the
//! future is done **or dropped**; [`acquire`](Bulkhead::acquire) returns the permit as a guard.
//! It is built on the crate's own FIFO semaphore: no heap, `const` construction.
//!
//! # Admission
//!
//! What a caller that finds every permit taken does:
//!
//! | how | the caller |
//! |---|---|
//! | [`acquire`](Bulkhead::acquire), [`run`](Bulkhead::run), [`call`](Bulkhead::call) | waits in FIFO order for as long as it takes |
//! | [`acquire_within`](Bulkhead::acquire_within), [`run_within`](Bulkhead::run_within), [`call_within`](Bulkhead::call_within) | waits in FIFO order at most the given time, measured on the given [`Timer`] from its first poll, then gets [`Rejected::WaitedTooLong`] |
//! | [`try_acquire`](Bulkhead::try_acquire) | is turned away at once with [`Rejected::Full`] |
//! | any of them, built with [`reject_when_full`](BulkheadBuilder::reject_when_full) | is turned away at once with [`Rejected::Full`] (load shedding) |
//! | any waiting form, built with [`max_waiting`](BulkheadBuilder::max_waiting) | is turned away with [`Rejected::QueueFull`] when that many callers wait already |
//!
//! The bulkhead is one type whatever its settings: a bounded wait takes its timer at the
//! call, so a `static` bulkhead, or a struct field of type `Bulkhead`, serves every form.
//! After [`close`](Bulkhead::close) every waiter and every newcomer gets
//! [`Rejected::Closed`]; permits already held stay valid until dropped.
//!
//! # Errors
//!
//! [`run`](Bulkhead::run) gives `Result<Output, Rejected>` for any work. For work that
//! returns a `Result`, [`call`](Bulkhead::call) gives one error, [`BulkheadError`]`<E>`: the
//! rejection or the work's own error, so one `?` takes both. With `anyhow::Error` or a
//! `Box<dyn Error + Send + Sync>` as the error of your function, `run(work).await??` works
//! as well ([`Rejected`] is `Send + Sync + 'static`).
//!
//! # Contracts
//!
//! - **A permit lives as long as the work.** [`Run`] drops the work before the permit, so a
//!   timeout around `bulkhead.run(work)` frees the permit exactly when it drops the work.
//! - **Cancellation is normal.** Dropping any future of the bulkhead at any point leaks
//!   nothing. A waiter that was handed a permit and is dropped before it sees it passes the
//!   permit on to the next waiter.
//! - **Fairness:** FIFO. A permit released while callers wait goes to the oldest waiter; a
//!   newcomer never takes it first.
//! - **Idle costs nothing:** a waiter is parked with its waker and polled again only when it
//!   is handed a permit, its time runs out, or the bulkhead closes.
//! - No allocation per admission; [`OwnedPermit`] (feature `alloc`) needs an
//!   `Arc<Bulkhead>`, nothing more. A free permit costs no clock read, bounded wait or not.
//!
//! # Compared with a bare semaphore
//!
//! A semaphore (`tokio::sync::Semaphore`, or tower's `ConcurrencyLimit` built on one) only
//! waits. A bulkhead adds the decision of what to do with the callers it cannot serve now
//! (shed, queue up to a cap, wait up to a deadline), says why it turned one away, counts it,
//! and runs on any runtime, in a `static`, without a heap.
//!
//! # Metrics
//!
//! [`Bulkhead::metrics`] reads a few atomic counters (no lock): permits held, callers waiting,
//! rejections by reason, and the most permits ever held at once. The counters of rejections
//! wrap around on overflow. The counters, like the semaphore, use `portable-atomic`: on
//! targets without compare-and-swap (Cortex-M0) the firmware enables its `critical-section`
//! feature and links a critical-section implementation.
//!
//! Runnable example: `cargo run -p steadfast-tokio --example bulkhead` (a `static` bulkhead in
//! front of a slow dependency, bounded waits, metrics).
//!
//! # Examples
//!
//! On tokio (`steadfast-tokio`): two calls at once, one more may wait, for at most a second.
//!
//! ```
//! use std::time::Duration;
//! use steadfast_tokio::TokioTimer;
//! use steadfast_tokio::bulkhead::{Bulkhead, BulkheadError, Rejected};
//!
//! async fn fetch(secs: u64) -> Result<u64, std::io::Error> {
//!     tokio::time::sleep(Duration::from_secs(secs)).await;
//!     Ok(secs)
//! }
//!
//! # #[tokio::main(flavor = "current_thread", start_paused = true)]
//! # async fn main() {
//! let timer = TokioTimer::new();
//! let bulkhead = Bulkhead::builder(2).max_waiting(1).build().expect("valid settings");
//! let wait = Duration::from_secs(1);
//! // Polled in order: two run, the third waits, the fourth finds the queue full.
//! let (a, b, c, d) = tokio::join!(
//!     bulkhead.call_within(&timer, wait, fetch(5)),
//!     bulkhead.call_within(&timer, wait, fetch(5)),
//!     bulkhead.call_within(&timer, wait, fetch(1)),
//!     bulkhead.call_within(&timer, wait, fetch(1)),
//! );
//! assert_eq!((a.unwrap(), b.unwrap()), (5, 5));
//! assert_eq!(c.unwrap_err().rejected(), Some(Rejected::WaitedTooLong));
//! assert_eq!(d.unwrap_err().rejected(), Some(Rejected::QueueFull));
//!
//! // One `?` for the rejection and the work's error alike.
//! async fn handler(b: &Bulkhead) -> Result<u64, BulkheadError<std::io::Error>> {
//!     let secs = b.call(fetch(1)).await?;
//!     Ok(secs * 2)
//! }
//! assert_eq!(handler(&bulkhead).await.unwrap(), 2);
//!
//! let m = bulkhead.metrics();
//! assert_eq!((m.in_flight, m.waiting, m.high_water), (0, 0, 2));
//! assert_eq!((m.rejected_waited_too_long, m.rejected_queue_full), (1, 1));
//! # }
//! ```
//!
//! On smol (`steadfast-smol`; a bounded wait takes its `AsyncIoTimer`), shedding load when
//! full, and `?` into a boxed error:
//!
//! ```
//! use std::time::Duration;
//! use steadfast_smol::bulkhead::{Bulkhead, Rejected};
//!
//! type BoxError = Box<dyn std::error::Error + Send + Sync>;
//!
//! smol::block_on(async {
//!     let shed = Bulkhead::builder(1).reject_when_full().build().expect("valid settings");
//!     let slow = shed.run(async { smol::Timer::after(Duration::from_millis(5)).await; });
//!     let (a, b) = smol::future::zip(slow, shed.run(async {})).await;
//!     assert_eq!((a, b), (Ok(()), Err(Rejected::Full)));
//!
//!     async fn twice(b: &Bulkhead) -> Result<u32, BoxError> {
//!         let n = b.run(async { Ok::<u32, BoxError>(21) }).await??;
//!         Ok(n * 2)
//!     }
//!     assert_eq!(twice(&shed).await.unwrap(), 42);
//! });
//! ```
//!
//! On embassy, a bulkhead lives in a `static`, with no heap; a bounded wait takes the
//! `EmbassyTimer` at the call (`ignore`d here: doc tests have no time driver):
//!
//! ```ignore
//! use core::time::Duration;
//! use steadfast_embassy::EmbassyTimer;
//! use steadfast_embassy::bulkhead::{Bulkhead, Rejected};
//!
//! static RADIO: Bulkhead = Bulkhead::new(1);
//! static SENSORS: Bulkhead = Bulkhead::builder(4).reject_when_full().build_const();
//!
//! #[embassy_executor::task(pool_size = 4)]
//! async fn send(frame: [u8; 32]) {
//!     match RADIO.run_within(&EmbassyTimer, Duration::from_millis(50), transmit(frame)).await {
//!         Ok(()) => {}
//!         Err(Rejected::WaitedTooLong) => defmt::warn!("radio busy, frame dropped"),
//!         Err(_) => {}
//!     }
//! }
//! ```
//!
//! A library generic over [`Timer`], tested on [`VirtualTimer`](crate::VirtualTimer), where
//! waits take no real time:
//!
//! ```
//! # #[cfg(feature = "alloc")] {
//! use core::time::Duration;
//! use steadfast::bulkhead::{Bulkhead, Rejected};
//! use steadfast::{Timer, VirtualTimer};
//!
//! /// At most one query at once; a caller waits at most 2 s for its turn.
//! async fn query<T: Timer>(db: &Bulkhead, timer: &T, ms: u64) -> Result<u64, Rejected> {
//!     db.run_within(timer, Duration::from_secs(2), timer.sleep(Duration::from_millis(ms)))
//!         .await
//!         .map(|()| ms)
//! }
//!
//! static DB: Bulkhead = Bulkhead::new(1);
//! let timer = VirtualTimer::new();
//! let (a, b) = futures_executor::block_on(timer.auto_advance(futures_util::future::join(
//!     query(&DB, &timer, 3_000),
//!     query(&DB, &timer, 10),
//! )));
//! assert_eq!((a, b), (Ok(3_000), Err(Rejected::WaitedTooLong)));
//! assert_eq!(timer.now().as_nanos(), 3_000_000_000);
//! # }
//! ```

mod builder;
mod error;
mod future;
mod metrics;

use core::future::IntoFuture;
use core::time::Duration;

use crate::sync::{self as semaphore, Semaphore, TryAcquireError};

use crate::Timer;
use crate::loom::{Ordering, loom_const_fn};
use crate::timeout::timeout;
pub use builder::BulkheadBuilder;
pub use error::{BulkheadError, Rejected};
#[cfg(feature = "alloc")]
pub use future::OwnedPermit;
pub use future::{Acquire, AcquireWithin, Call, Permit, Run};
pub use metrics::Metrics;
use metrics::Stats;

/// The largest `max_concurrent`.
const MAX_CONCURRENT: usize = usize::MAX / 2;

/// Limits how many futures run at once. See the [module docs](self).
pub struct Bulkhead {
    semaphore: Semaphore,
    max_concurrent: usize,
    max_waiting: Option<usize>,
    reject: bool,
    stats: Stats,
}

impl core::fmt::Debug for Bulkhead {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Bulkhead")
            .field("max_concurrent", &self.max_concurrent)
            .field("max_waiting", &self.max_waiting)
            .field("reject_when_full", &self.reject)
            .field("metrics", &self.metrics())
            .finish_non_exhaustive()
    }
}

impl Bulkhead {
    loom_const_fn! {
        /// At most `max_concurrent` futures at once; callers wait in FIFO order, without a
        /// cap on how many wait.
        ///
        /// `const`, for `static`s, where `max_concurrent = 0` is a compile error. Elsewhere it
        /// panics on 0: use [`builder`](Bulkhead::builder)`(n).build()` for a value known only
        /// at run time.
        #[must_use]
        pub fn new(max_concurrent: usize) -> Self {
            BulkheadBuilder::new(max_concurrent).build_const()
        }
    }

    /// Starts a [`BulkheadBuilder`] with `max_concurrent` permits (at least 1).
    pub const fn builder(max_concurrent: usize) -> BulkheadBuilder {
        BulkheadBuilder::new(max_concurrent)
    }

    loom_const_fn! {
        fn from_valid(b: BulkheadBuilder) -> Self {
            Bulkhead {
                semaphore: Semaphore::new(b.max_concurrent),
                max_concurrent: b.max_concurrent,
                max_waiting: b.max_waiting,
                reject: b.reject,
                stats: Stats::new(),
            }
        }
    }

    /// The number of permits, `max_concurrent`.
    #[must_use]
    pub fn max_concurrent(&self) -> usize {
        self.max_concurrent
    }

    /// Rejects every caller from now on with [`Rejected::Closed`], waiters included, which
    /// are woken at once. Permits already held stay valid until dropped.
    pub fn close(&self) {
        // Permits held now stay valid, and still count until they come back.
        self.semaphore.close();
    }

    /// Whether [`close`](Bulkhead::close) was called.
    #[must_use]
    #[cfg_attr(not(target_os = "none"), inline)]
    pub fn is_closed(&self) -> bool {
        self.semaphore.is_closed()
    }

    /// Permits handed out: held, or handed to a waiter that has not run yet. Read from the
    /// semaphore, so admission pays for no counter of its own.
    fn in_flight(&self) -> usize {
        let max = self.max_concurrent;
        max - self.semaphore.available_permits().min(max)
    }

    /// A snapshot of the counters: a few atomic loads, no lock. Under concurrent use the
    /// fields are each exact but not necessarily from the same instant. `in_flight` counts
    /// the permits handed out, including one handed to a waiter that has not run yet (and,
    /// while [`close`](Bulkhead::close) wakes them, to waiters about to give it back).
    #[must_use]
    pub fn metrics(&self) -> Metrics {
        self.stats
            .snapshot(self.in_flight(), self.semaphore.waiting())
    }

    /// Takes a permit if one is free, without waiting, whatever the settings:
    /// [`Rejected::Full`] when none is, [`Rejected::Closed`] after [`close`](Bulkhead::close).
    pub fn try_acquire(&self) -> Result<Permit<'_>, Rejected> {
        match self.semaphore.try_acquire(1) {
            Ok(permit) => self.admit(permit),
            Err(TryAcquireError::InsufficientPermits) if !self.is_closed() => {
                Err(self.stats.reject(Rejected::Full))
            }
            Err(_) => Err(self.stats.reject(Rejected::Closed)),
        }
    }

    /// Waits for a permit, in FIFO order, and returns it as a guard; the permit is released
    /// when the guard is dropped. Nothing happens until the future is polled; dropping it
    /// gives up the caller's place in the queue.
    pub fn acquire(&self) -> Acquire<'_> {
        Acquire::new(self)
    }

    /// Like [`acquire`](Bulkhead::acquire), waiting at most `max_wait` on `timer`, counted
    /// from the first poll, then [`Rejected::WaitedTooLong`]. A zero `max_wait` waits not at
    /// all: a free permit is taken, else the caller is turned away at once. The clock is read
    /// only when the caller has to wait.
    pub fn acquire_within<T: Timer>(&self, timer: &T, max_wait: Duration) -> AcquireWithin<'_, T> {
        AcquireWithin::new(self, timeout(timer, max_wait, self.acquire()))
    }

    /// Acquires a permit, then runs `work` while holding it; the permit is released when the
    /// work finishes or is dropped, never before. Returns the work's output, or why the work
    /// was not started.
    pub fn run<F: IntoFuture>(&self, work: F) -> Run<'_, F::IntoFuture> {
        Run::new(self, self.acquire(), work.into_future())
    }

    /// [`run`](Bulkhead::run), waiting at most `max_wait` on `timer` for the permit (see
    /// [`acquire_within`](Bulkhead::acquire_within)). The work's own time is not limited.
    pub fn run_within<'a, T: Timer, F: IntoFuture>(
        &'a self,
        timer: &T,
        max_wait: Duration,
        work: F,
    ) -> Run<'a, F::IntoFuture, AcquireWithin<'a, T>> {
        Run::new(
            self,
            self.acquire_within(timer, max_wait),
            work.into_future(),
        )
    }

    /// [`run`](Bulkhead::run) for work that returns a `Result`, with one error: the work's
    /// value, or a [`BulkheadError`] holding the rejection or the work's error.
    pub fn call<F, V, E>(&self, work: F) -> Call<'_, F::IntoFuture>
    where
        F: IntoFuture<Output = Result<V, E>>,
    {
        Call::new(self.run(work))
    }

    /// [`call`](Bulkhead::call), waiting at most `max_wait` on `timer` for the permit (see
    /// [`acquire_within`](Bulkhead::acquire_within)).
    pub fn call_within<'a, T: Timer, F, V, E>(
        &'a self,
        timer: &T,
        max_wait: Duration,
        work: F,
    ) -> Call<'a, F::IntoFuture, AcquireWithin<'a, T>>
    where
        F: IntoFuture<Output = Result<V, E>>,
    {
        Call::new(self.run_within(timer, max_wait, work))
    }

    /// The first step of an admission: a free permit, or why the caller is turned away at
    /// once (`Err(Some(why))`), or `Err(None)`: the caller may wait.
    // Inlined on hosted targets, for speed; out of line on bare metal, where each inlined copy
    // costs flash.
    #[cfg_attr(not(target_os = "none"), inline)]
    fn try_take(&self) -> Result<semaphore::Permit<'_>, Option<Rejected>> {
        match self.semaphore.try_acquire(1) {
            Ok(permit) => Ok(permit),
            Err(TryAcquireError::Closed) => Err(Some(Rejected::Closed)),
            Err(TryAcquireError::InsufficientPermits) if self.is_closed() => {
                Err(Some(Rejected::Closed))
            }
            Err(TryAcquireError::InsufficientPermits) if self.reject => Err(Some(Rejected::Full)),
            Err(TryAcquireError::InsufficientPermits) => Err(None),
        }
    }

    /// Completes an admission: the permit is the caller's unless the bulkhead is closed.
    #[cfg_attr(not(target_os = "none"), inline)]
    fn admit<'a>(&'a self, permit: semaphore::Permit<'a>) -> Result<Permit<'a>, Rejected> {
        // A permit granted before `close` and seen after it is refused as well.
        if self.is_closed() {
            drop(permit);
            return Err(self.stats.reject(Rejected::Closed));
        }
        let max = self.max_concurrent;
        // Usually plain loads: the mark only moves while the load grows, and once it has
        // reached the limit (as it soon does under contention) the semaphore's busy counter
        // is not read at all.
        let mark = self.stats.high_water.load(Ordering::Relaxed);
        if mark < max {
            let n = max - self.semaphore.available_permits().min(max);
            if n > mark {
                self.stats.high_water.fetch_max(n, Ordering::Relaxed);
            }
        }
        Ok(Permit { _permit: permit })
    }

    /// Waits in the semaphore's queue, unless `max_waiting` callers wait there already.
    fn wait(&self) -> semaphore::Acquire<'_> {
        let cap = self.max_waiting.unwrap_or(usize::MAX);
        self.semaphore.acquire_capped(1, cap)
    }
}

#[cfg(feature = "alloc")]
impl Bulkhead {
    /// Like [`acquire`](Bulkhead::acquire), for a permit that owns a reference to the
    /// bulkhead and can move into a `'static` task.
    pub fn acquire_owned(
        self: &alloc::sync::Arc<Self>,
    ) -> impl core::future::Future<Output = Result<OwnedPermit, Rejected>> + use<> {
        let bulkhead = alloc::sync::Arc::clone(self);
        async move {
            let permit = bulkhead.acquire().await?;
            core::mem::forget(permit);
            Ok(OwnedPermit { bulkhead })
        }
    }

    /// Like [`acquire_within`](Bulkhead::acquire_within), for a permit that owns a reference
    /// to the bulkhead and can move into a `'static` task.
    pub fn acquire_owned_within<T: Timer>(
        self: &alloc::sync::Arc<Self>,
        timer: &T,
        max_wait: Duration,
    ) -> impl core::future::Future<Output = Result<OwnedPermit, Rejected>> + use<T> {
        let (bulkhead, timer) = (alloc::sync::Arc::clone(self), timer.clone());
        async move {
            let permit = bulkhead.acquire_within(&timer, max_wait).await?;
            core::mem::forget(permit);
            Ok(OwnedPermit { bulkhead })
        }
    }

    /// The first step of an admission that waits in a future of the caller's own (a tower
    /// service's `poll_ready`): a free permit (`Ok(Some(..))`); a refusal the bulkhead's
    /// settings give at once (closed; full, in [`reject_when_full`](BulkheadBuilder::reject_when_full)
    /// mode), counted as [`acquire`](Bulkhead::acquire) counts it; or `Ok(None)`: every permit
    /// is taken and the caller may wait, with [`acquire_owned`](Bulkhead::acquire_owned).
    /// Nothing is counted for `Ok(None)`, so a caller that then waits is not a rejection.
    pub fn try_admit_owned(self: &alloc::sync::Arc<Self>) -> Result<Option<OwnedPermit>, Rejected> {
        let permit = match self.try_take() {
            Ok(permit) => self.admit(permit)?,
            Err(Some(why)) => return Err(self.stats.reject(why)),
            Err(None) => return Ok(None),
        };
        core::mem::forget(permit);
        Ok(Some(OwnedPermit {
            bulkhead: alloc::sync::Arc::clone(self),
        }))
    }

    /// Like [`try_acquire`](Bulkhead::try_acquire), for a permit that owns a reference to
    /// the bulkhead.
    pub fn try_acquire_owned(self: &alloc::sync::Arc<Self>) -> Result<OwnedPermit, Rejected> {
        let permit = self.try_acquire()?;
        // The semaphore permit moves to the owned permit, which gives it back when dropped.
        core::mem::forget(permit);
        Ok(OwnedPermit {
            bulkhead: alloc::sync::Arc::clone(self),
        })
    }
}

#[cfg(all(test, not(loom)))]
mod tests;
