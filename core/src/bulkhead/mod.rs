//! Limit how much work runs at once, and say what happens to the rest.
//!
//! A [`Bulkhead`] hands out at most `max_concurrent` permits. Work runs while it holds one:
//! [`run`](Bulkhead::run) acquires a permit, runs the future and releases the permit when the
//! future is done **or dropped**; [`acquire`](Bulkhead::acquire) returns the permit as a guard.
//! It is built on `maitake-sync`'s semaphore: no heap, `const` construction, FIFO order.
//!
//! # Admission
//!
//! What a caller that finds every permit taken does is chosen at construction ([`Config`]):
//!
//! | setting | the caller |
//! |---|---|
//! | default ([`Config::wait_indefinitely`]) | waits in FIFO order for as long as it takes |
//! | [`Config::max_wait`] | waits in FIFO order at most that long, then gets [`Rejected::WaitedTooLong`] |
//! | [`Config::reject_when_full`] | is turned away at once with [`Rejected::Full`] (load shedding) |
//! | [`Config::max_waiting`] (with either wait) | is turned away with [`Rejected::QueueFull`] when that many callers wait already |
//!
//! After [`close`](Bulkhead::close) every waiter and every newcomer gets [`Rejected::Closed`];
//! permits already held stay valid until dropped.
//!
//! # Contracts
//!
//! - **A permit lives as long as the work.** [`Run`] drops the work before the permit, so a
//!   timeout around `bulkhead.run(work)` frees the permit exactly when it drops the work.
//! - **Cancellation is normal.** Dropping an [`Acquire`] or [`Run`] at any point leaks
//!   nothing. A waiter that was handed a permit and is dropped before it sees it passes the
//!   permit on to the next waiter.
//! - **Fairness:** FIFO. A permit released while callers wait goes to the oldest waiter; a
//!   newcomer never takes it first.
//! - **Idle costs nothing:** a waiter is parked with its waker and polled again only when it
//!   is handed a permit, its `max_wait` expires, or the bulkhead closes.
//! - No allocation per admission; [`OwnedPermit`] (feature `alloc`) needs an
//!   `Arc<Bulkhead>`, nothing more.
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
//! # Example
//!
//! ```
//! # #[cfg(feature = "alloc")] {
//! use core::time::Duration;
//! use steadfast::bulkhead::{Bulkhead, Rejected};
//! use steadfast::{Timer, VirtualTimer};
//!
//! let timer = VirtualTimer::new();
//! // Two calls at once; one more may wait, for at most a second.
//! let bulkhead = Bulkhead::builder(2)
//!     .max_waiting(1)
//!     .max_wait(timer.clone(), Duration::from_secs(1))
//!     .build()
//!     .expect("a valid configuration");
//!
//! let call = |secs: u64| {
//!     let t = timer.clone();
//!     async move {
//!         t.sleep(Duration::from_secs(secs)).await;
//!         secs
//!     }
//! };
//! let (a, b, c, d) = futures_executor::block_on(timer.auto_advance(async {
//!     // Polled in order: two run, the third waits, the fourth finds the queue full.
//!     futures_util::future::join4(
//!         bulkhead.run(call(5)),
//!         bulkhead.run(call(5)),
//!         bulkhead.run(call(1)),
//!         bulkhead.run(call(1)),
//!     )
//!     .await
//! }));
//! assert_eq!((a, b), (Ok(5), Ok(5)));
//! assert_eq!(c, Err(Rejected::WaitedTooLong));
//! assert_eq!(d, Err(Rejected::QueueFull));
//!
//! let m = bulkhead.metrics();
//! assert_eq!((m.in_flight, m.waiting, m.high_water), (0, 0, 2));
//! assert_eq!((m.rejected.waited_too_long, m.rejected.queue_full), (1, 1));
//! # }
//! ```
//!
//! A bulkhead with a fixed setting can live in a `static`, with no heap:
//!
//! ```
//! use steadfast::bulkhead::Bulkhead;
//!
//! static RADIO: Bulkhead = Bulkhead::new(1);
//! static SENSORS: Bulkhead = Bulkhead::builder(4).reject_when_full().build_const();
//!
//! let permit = RADIO.try_acquire().expect("a free permit");
//! assert!(RADIO.try_acquire().is_err());
//! drop(permit);
//! assert_eq!(SENSORS.metrics().in_flight, 0);
//! ```

mod error;

use core::future::{Future, IntoFuture};
use core::pin::Pin;
use core::task::{Context, Poll};
use core::time::Duration;

use crate::loom::{AtomicBool, AtomicUsize, Ordering, loom_const_fn};
use crate::timeout::{Timeout, timeout};
use crate::{Instant, Timer};
pub use error::{ConfigError, Rejected};
use maitake_sync::Semaphore;
use maitake_sync::semaphore::{self, TryAcquireError};
use pin_project_lite::pin_project;

/// The largest `max_concurrent`: [`Bulkhead::close`] needs as many permits again.
const MAX_CONCURRENT: usize = usize::MAX / 2;

/// The timer of a bulkhead that never waits on the clock (the default).
///
/// Its clock stays at [`Instant::ZERO`] and its sleeps never end (a deadline of
/// [`Instant::ZERO`] excepted). A bulkhead gets a real timer from [`Config::max_wait`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NoTimer;

/// The sleep of [`NoTimer`]: ready at once for a deadline of [`Instant::ZERO`], never otherwise.
#[derive(Debug)]
#[must_use = "a sleep does nothing unless awaited"]
pub struct NoSleep(bool);

impl Future for NoSleep {
    type Output = ();
    fn poll(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<()> {
        if self.0 {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }
}

impl Timer for NoTimer {
    type Sleep = NoSleep;
    fn now(&self) -> Instant {
        Instant::ZERO
    }
    fn sleep_until(&self, deadline: Instant) -> NoSleep {
        NoSleep(deadline == Instant::ZERO)
    }
}

/// What a caller does when every permit is taken. See the [module docs](self#admission).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Admission {
    /// Wait in FIFO order for as long as it takes.
    Wait,
    /// Wait in FIFO order at most this long, counted from the caller's first poll, then get
    /// [`Rejected::WaitedTooLong`].
    WaitAtMost(Duration),
    /// Get [`Rejected::Full`] at once.
    Reject,
}

/// A bulkhead's settings, built with `const` methods; [`build`](Config::build) checks them.
///
/// Start from [`Bulkhead::builder`] or [`Config::new`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[must_use = "a configuration does nothing until built"]
pub struct Config<T = NoTimer> {
    max_concurrent: usize,
    max_waiting: Option<usize>,
    admission: Admission,
    timer: T,
}

impl Config<NoTimer> {
    /// At most `max_concurrent` permits at once; callers wait in FIFO order, without limit.
    pub const fn new(max_concurrent: usize) -> Self {
        Config {
            max_concurrent,
            max_waiting: None,
            admission: Admission::Wait,
            timer: NoTimer,
        }
    }

    /// Callers wait at most `max_wait` for a permit, measured on `timer` from their first
    /// poll, then get [`Rejected::WaitedTooLong`]. Must be more than zero (use
    /// [`reject_when_full`](Config::reject_when_full) to turn callers away at once).
    pub const fn max_wait<T: Timer>(self, timer: T, max_wait: Duration) -> Config<T> {
        Config {
            max_concurrent: self.max_concurrent,
            max_waiting: self.max_waiting,
            admission: Admission::WaitAtMost(max_wait),
            timer,
        }
    }
}

impl<T> Config<T> {
    /// Turns callers away once `max_waiting` callers wait already, with
    /// [`Rejected::QueueFull`]. At least 1; only with a waiting admission.
    pub const fn max_waiting(mut self, max_waiting: usize) -> Self {
        self.max_waiting = Some(max_waiting);
        self
    }

    /// Callers wait in FIFO order for as long as it takes (the default; undoes
    /// [`max_wait`](Config::max_wait) and [`reject_when_full`](Config::reject_when_full)).
    pub const fn wait_indefinitely(mut self) -> Self {
        self.admission = Admission::Wait;
        self
    }

    /// Callers that find every permit taken get [`Rejected::Full`] at once.
    pub const fn reject_when_full(mut self) -> Self {
        self.admission = Admission::Reject;
        self
    }

    /// The number of permits.
    #[must_use]
    pub const fn max_concurrent(&self) -> usize {
        self.max_concurrent
    }

    /// The cap on waiting callers, if any.
    #[must_use]
    pub const fn max_waiting_callers(&self) -> Option<usize> {
        self.max_waiting
    }

    /// What a caller does when every permit is taken.
    #[must_use]
    pub const fn admission(&self) -> Admission {
        self.admission
    }

    /// The timer that measures `max_wait`.
    #[must_use]
    pub const fn timer(&self) -> &T {
        &self.timer
    }

    /// Checks the settings: `max_concurrent` in `1..=usize::MAX / 2`, `max_wait` more than zero,
    /// `max_waiting` at least 1 and only with a waiting admission.
    pub const fn validate(&self) -> Result<(), ConfigError> {
        if self.max_concurrent == 0 {
            return Err(error::invalid("max_concurrent", "must be at least 1"));
        }
        if self.max_concurrent > MAX_CONCURRENT {
            return Err(error::invalid(
                "max_concurrent",
                "must be at most usize::MAX / 2",
            ));
        }
        if let Admission::WaitAtMost(d) = self.admission {
            if d.is_zero() {
                return Err(error::invalid(
                    "max_wait",
                    "must be more than zero (use `reject_when_full` to turn callers away at once)",
                ));
            }
        }
        match (self.max_waiting, self.admission) {
            (Some(0), _) => Err(error::invalid(
                "max_waiting",
                "must be at least 1 (use `reject_when_full` to let no caller wait)",
            )),
            (Some(_), Admission::Reject) => Err(error::invalid(
                "max_waiting",
                "has no effect when the bulkhead rejects callers at once",
            )),
            _ => Ok(()),
        }
    }

    /// Checks the settings (see [`validate`](Config::validate)) and builds the bulkhead.
    pub fn build(self) -> Result<Bulkhead<T>, ConfigError> {
        self.validate()?;
        Ok(Bulkhead::from_valid(self))
    }
}

impl<T: Copy> Config<T> {
    loom_const_fn! {
        /// Builds the bulkhead in a `const` context, such as a `static`'s initializer, where
        /// invalid settings are a compile error. Elsewhere invalid settings panic: use
        /// [`build`](Config::build) for settings known only at run time. Needs a `Copy` timer,
        /// such as [`NoTimer`] or embassy's.
        #[must_use]
        pub fn build_const(self) -> Bulkhead<T> {
            if let Err(e) = self.validate() {
                panic!("{}", e.problem());
            }
            Bulkhead::from_valid(self)
        }
    }
}

/// Limits how many futures run at once. See the [module docs](self).
///
/// `T` is the timer that measures [`max_wait`](Config::max_wait); [`NoTimer`] when callers
/// wait without a time limit or do not wait.
pub struct Bulkhead<T = NoTimer> {
    semaphore: Semaphore,
    config: Config<T>,
    stats: Stats,
}

struct Stats {
    /// Set by [`Bulkhead::close`].
    shut: AtomicBool,
    waiting: AtomicUsize,
    high_water: AtomicUsize,
    full: AtomicUsize,
    queue_full: AtomicUsize,
    waited_too_long: AtomicUsize,
    closed: AtomicUsize,
}

impl<T> core::fmt::Debug for Bulkhead<T> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Bulkhead")
            .field("max_concurrent", &self.config.max_concurrent)
            .field("max_waiting", &self.config.max_waiting)
            .field("admission", &self.config.admission)
            .field("metrics", &self.metrics())
            .finish_non_exhaustive()
    }
}

impl Bulkhead<NoTimer> {
    loom_const_fn! {
        /// At most `max_concurrent` futures at once; callers wait in FIFO order, without limit.
        ///
        /// `const`, for `static`s, where `max_concurrent = 0` is a compile error. Elsewhere it
        /// panics on 0: use [`try_new`](Bulkhead::try_new) for a value known only at run time.
        #[must_use]
        pub fn new(max_concurrent: usize) -> Self {
            Config::new(max_concurrent).build_const()
        }
    }

    loom_const_fn! {
        /// Like [`new`](Bulkhead::new), but rejects `max_concurrent = 0` (or more than
        /// `usize::MAX / 2`) with a [`ConfigError`] naming the field.
        pub fn try_new(max_concurrent: usize) -> Result<Self, ConfigError> {
            let config = Config::new(max_concurrent);
            match config.validate() {
                Ok(()) => Ok(Bulkhead::from_valid(config)),
                Err(e) => Err(e),
            }
        }
    }

    /// Starts a [`Config`] with `max_concurrent` permits.
    pub const fn builder(max_concurrent: usize) -> Config<NoTimer> {
        Config::new(max_concurrent)
    }
}

impl<T> Bulkhead<T> {
    loom_const_fn! {
        fn from_valid(config: Config<T>) -> Self {
            Bulkhead {
                semaphore: Semaphore::new(config.max_concurrent),
                config,
                stats: Stats {
                    shut: AtomicBool::new(false),
                    waiting: AtomicUsize::new(0),
                    high_water: AtomicUsize::new(0),
                    full: AtomicUsize::new(0),
                    queue_full: AtomicUsize::new(0),
                    waited_too_long: AtomicUsize::new(0),
                    closed: AtomicUsize::new(0),
                },
            }
        }
    }

    /// The settings this bulkhead was built with.
    pub fn config(&self) -> &Config<T> {
        &self.config
    }

    /// Rejects every caller from now on with [`Rejected::Closed`], waiters included, which
    /// are woken at once. Permits already held stay valid until dropped.
    pub fn close(&self) {
        if !self.stats.shut.swap(true, Ordering::SeqCst) {
            // Every waiter is handed a permit, finds the bulkhead closed and gives it back;
            // a newcomer does the same at once. The semaphore itself stays open, so permits
            // held now still count and come back when dropped.
            self.semaphore.add_permits(self.flood());
        }
    }

    /// Whether [`close`](Bulkhead::close) was called.
    #[must_use]
    pub fn is_closed(&self) -> bool {
        self.stats.shut.load(Ordering::Acquire)
    }

    /// The permits [`close`](Bulkhead::close) adds: all the semaphore can hold beside ours.
    fn flood(&self) -> usize {
        <Semaphore>::MAX_PERMITS - self.config.max_concurrent
    }

    /// Permits handed out: held, or handed to a waiter that has not run yet. Read from the
    /// semaphore, so admission pays for no counter of its own.
    fn in_flight(&self) -> usize {
        let max = self.config.max_concurrent;
        let total = if self.is_closed() {
            max + self.flood()
        } else {
            max
        };
        total
            .saturating_sub(self.semaphore.available_permits())
            .min(max)
    }

    /// A snapshot of the counters: a few atomic loads, no lock. Under concurrent use the
    /// fields are each exact but not necessarily from the same instant. `in_flight` counts
    /// the permits handed out, including one handed to a waiter that has not run yet (and,
    /// while [`close`](Bulkhead::close) wakes them, to waiters about to give it back).
    #[must_use]
    pub fn metrics(&self) -> Metrics {
        let s = &self.stats;
        Metrics {
            in_flight: self.in_flight(),
            waiting: s.waiting.load(Ordering::Relaxed),
            high_water: s.high_water.load(Ordering::Relaxed),
            rejected: Rejections {
                full: s.full.load(Ordering::Relaxed),
                queue_full: s.queue_full.load(Ordering::Relaxed),
                waited_too_long: s.waited_too_long.load(Ordering::Relaxed),
                closed: s.closed.load(Ordering::Relaxed),
            },
        }
    }

    /// Takes a permit if one is free, without waiting, whatever the admission setting:
    /// [`Rejected::Full`] when none is, [`Rejected::Closed`] after [`close`](Bulkhead::close).
    pub fn try_acquire(&self) -> Result<Permit<'_>, Rejected> {
        match self.semaphore.try_acquire(1) {
            Ok(permit) => self.admit(permit),
            Err(TryAcquireError::InsufficientPermits) if !self.is_closed() => {
                Err(self.reject(Rejected::Full))
            }
            Err(_) => Err(self.reject(Rejected::Closed)),
        }
    }

    /// Completes an admission: the permit is the caller's unless the bulkhead is closed.
    fn admit<'a>(&'a self, permit: semaphore::Permit<'a>) -> Result<Permit<'a>, Rejected> {
        // Acquire: a permit from `close`'s flood comes after the flag was set.
        if self.is_closed() {
            drop(permit);
            return Err(self.reject(Rejected::Closed));
        }
        let max = self.config.max_concurrent;
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

    fn reject(&self, why: Rejected) -> Rejected {
        let s = &self.stats;
        let counter = match why {
            Rejected::Full => &s.full,
            Rejected::QueueFull => &s.queue_full,
            Rejected::WaitedTooLong => &s.waited_too_long,
            Rejected::Closed => &s.closed,
        };
        counter.fetch_add(1, Ordering::Relaxed);
        why
    }

    /// Counts a new waiter, unless `max_waiting` are waiting already.
    fn enter_queue(&self) -> Option<WaitSlot<'_>> {
        let waiting = &self.stats.waiting;
        match self.config.max_waiting {
            None => {
                waiting.fetch_add(1, Ordering::Relaxed);
            }
            Some(max) => {
                waiting
                    .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |w| {
                        (w < max).then_some(w + 1)
                    })
                    .ok()?;
            }
        }
        Some(WaitSlot(waiting))
    }
}

impl<T: Timer> Bulkhead<T> {
    /// Waits for a permit according to the admission setting and returns it as a guard; the
    /// permit is released when the guard is dropped. Nothing happens until the future is
    /// polled; dropping it gives up the caller's place in the queue.
    pub fn acquire(&self) -> Acquire<'_, T> {
        Acquire {
            bulkhead: self,
            state: AcquireState::Start,
        }
    }

    /// Acquires a permit, then runs `work` while holding it; the permit is released when the
    /// work finishes or is dropped, never before. Returns the work's output, or why the work
    /// was not started.
    pub fn run<F: IntoFuture>(&self, work: F) -> Run<'_, F::IntoFuture, T> {
        Run {
            state: RunState::Acquiring {
                acquire: self.acquire(),
                work: Some(work.into_future()),
            },
        }
    }
}

#[cfg(feature = "alloc")]
impl<T: Timer> Bulkhead<T> {
    /// Like [`acquire`](Bulkhead::acquire), for a permit that owns a reference to the
    /// bulkhead and can move into a `'static` task.
    pub fn acquire_owned(
        self: &alloc::sync::Arc<Self>,
    ) -> impl Future<Output = Result<OwnedPermit<T>, Rejected>> + use<T> {
        let bulkhead = alloc::sync::Arc::clone(self);
        async move {
            let permit = bulkhead.acquire().await?;
            core::mem::forget(permit);
            Ok(OwnedPermit { bulkhead })
        }
    }

    /// Like [`try_acquire`](Bulkhead::try_acquire), for a permit that owns a reference to
    /// the bulkhead.
    pub fn try_acquire_owned(self: &alloc::sync::Arc<Self>) -> Result<OwnedPermit<T>, Rejected> {
        let permit = self.try_acquire()?;
        // The semaphore permit moves to the owned permit, which gives it back when dropped.
        core::mem::forget(permit);
        Ok(OwnedPermit {
            bulkhead: alloc::sync::Arc::clone(self),
        })
    }
}

/// A snapshot of a bulkhead's counters, from [`Bulkhead::metrics`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct Metrics {
    /// Permits held now.
    pub in_flight: usize,
    /// Callers waiting for a permit now.
    pub waiting: usize,
    /// The most permits ever held at once.
    pub high_water: usize,
    /// Callers turned away so far, by reason.
    pub rejected: Rejections,
}

/// Callers turned away so far, by reason (see [`Rejected`]). Each count wraps on overflow.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct Rejections {
    /// [`Rejected::Full`].
    pub full: usize,
    /// [`Rejected::QueueFull`].
    pub queue_full: usize,
    /// [`Rejected::WaitedTooLong`].
    pub waited_too_long: usize,
    /// [`Rejected::Closed`].
    pub closed: usize,
}

impl Rejections {
    /// All rejections, whatever the reason (wrapping).
    #[must_use]
    pub fn total(&self) -> usize {
        self.full
            .wrapping_add(self.queue_full)
            .wrapping_add(self.waited_too_long)
            .wrapping_add(self.closed)
    }
}

/// A permit of a [`Bulkhead`], released when dropped.
#[must_use = "dropping a permit releases it at once"]
pub struct Permit<'a> {
    _permit: semaphore::Permit<'a>,
}

impl core::fmt::Debug for Permit<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("Permit")
    }
}

/// A permit that owns a reference to its [`Bulkhead`], for `'static` tasks; released when
/// dropped. From [`Bulkhead::acquire_owned`].
#[cfg(feature = "alloc")]
#[must_use = "dropping a permit releases it at once"]
pub struct OwnedPermit<T = NoTimer> {
    bulkhead: alloc::sync::Arc<Bulkhead<T>>,
}

#[cfg(feature = "alloc")]
impl<T> OwnedPermit<T> {
    /// The bulkhead this permit belongs to.
    #[must_use]
    pub fn bulkhead(&self) -> &alloc::sync::Arc<Bulkhead<T>> {
        &self.bulkhead
    }
}

#[cfg(feature = "alloc")]
impl<T> Drop for OwnedPermit<T> {
    fn drop(&mut self) {
        self.bulkhead.semaphore.add_permits(1);
    }
}

#[cfg(feature = "alloc")]
impl<T> core::fmt::Debug for OwnedPermit<T> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("OwnedPermit")
    }
}

/// Counts one waiting caller while alive.
struct WaitSlot<'a>(&'a AtomicUsize);

impl Drop for WaitSlot<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

pin_project! {
    #[project = AcquireProj]
    enum AcquireState<'a, T: Timer> {
        Start,
        Wait {
            #[pin]
            acquire: semaphore::Acquire<'a>,
            slot: WaitSlot<'a>,
        },
        WaitAtMost {
            #[pin]
            acquire: Timeout<semaphore::Acquire<'a>, T>,
            slot: WaitSlot<'a>,
        },
        Done,
    }
}

pin_project! {
    /// The future returned by [`Bulkhead::acquire`].
    #[must_use = "futures do nothing unless awaited"]
    pub struct Acquire<'a, T: Timer> {
        bulkhead: &'a Bulkhead<T>,
        #[pin]
        state: AcquireState<'a, T>,
    }
}

impl<T: Timer> core::fmt::Debug for Acquire<'_, T> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let state = match self.state {
            AcquireState::Start => "start",
            AcquireState::Wait { .. } | AcquireState::WaitAtMost { .. } => "waiting",
            AcquireState::Done => "done",
        };
        f.debug_struct("Acquire").field("state", &state).finish()
    }
}

impl<'a, T: Timer> Future for Acquire<'a, T> {
    type Output = Result<Permit<'a>, Rejected>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        let bulkhead: &'a Bulkhead<T> = this.bulkhead;
        loop {
            let result = match this.state.as_mut().project() {
                AcquireProj::Start => match bulkhead.semaphore.try_acquire(1) {
                    Ok(permit) => Ok(permit),
                    Err(TryAcquireError::Closed) => Err(Rejected::Closed),
                    Err(TryAcquireError::InsufficientPermits) if bulkhead.is_closed() => {
                        Err(Rejected::Closed)
                    }
                    Err(TryAcquireError::InsufficientPermits) => match bulkhead.config.admission {
                        Admission::Reject => Err(Rejected::Full),
                        admission => match bulkhead.enter_queue() {
                            None => Err(Rejected::QueueFull),
                            Some(slot) => {
                                let acquire = bulkhead.semaphore.acquire(1);
                                this.state.set(match admission {
                                    Admission::WaitAtMost(d) => AcquireState::WaitAtMost {
                                        acquire: timeout(&bulkhead.config.timer, d, acquire),
                                        slot,
                                    },
                                    _ => AcquireState::Wait { acquire, slot },
                                });
                                continue;
                            }
                        },
                    },
                },
                AcquireProj::Wait { acquire, .. } => match acquire.poll(cx) {
                    Poll::Pending => return Poll::Pending,
                    Poll::Ready(Ok(permit)) => Ok(permit),
                    Poll::Ready(Err(_closed)) => Err(Rejected::Closed),
                },
                AcquireProj::WaitAtMost { acquire, .. } => match acquire.poll(cx) {
                    Poll::Pending => return Poll::Pending,
                    Poll::Ready(Ok(Ok(permit))) => Ok(permit),
                    Poll::Ready(Ok(Err(_closed))) => Err(Rejected::Closed),
                    Poll::Ready(Err(_elapsed)) => Err(Rejected::WaitedTooLong),
                },
                AcquireProj::Done => panic!("`Acquire` polled after completion"),
            };
            let result = match result {
                Ok(permit) => bulkhead.admit(permit),
                Err(why) => Err(bulkhead.reject(why)),
            };
            // Leaves the queue: the waiter count drops after the permit is counted.
            this.state.set(AcquireState::Done);
            return Poll::Ready(result);
        }
    }
}

pin_project! {
    #[project = RunProj]
    enum RunState<'a, F, T: Timer> {
        Acquiring {
            #[pin]
            acquire: Acquire<'a, T>,
            work: Option<F>,
        },
        Running {
            // Declared before the permit: dropped first.
            #[pin]
            work: F,
            permit: Permit<'a>,
        },
        Done,
    }
}

pin_project! {
    /// The future returned by [`Bulkhead::run`]: acquires a permit, then runs the work while
    /// holding it.
    #[must_use = "futures do nothing unless awaited"]
    pub struct Run<'a, F, T: Timer> {
        #[pin]
        state: RunState<'a, F, T>,
    }
}

impl<F, T: Timer> core::fmt::Debug for Run<'_, F, T> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let state = match self.state {
            RunState::Acquiring { .. } => "acquiring",
            RunState::Running { .. } => "running",
            RunState::Done => "done",
        };
        f.debug_struct("Run").field("state", &state).finish()
    }
}

impl<'a, F: Future, T: Timer> Future for Run<'a, F, T> {
    type Output = Result<F::Output, Rejected>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        loop {
            match this.state.as_mut().project() {
                RunProj::Acquiring { acquire, work } => {
                    let permit = match acquire.poll(cx) {
                        Poll::Pending => return Poll::Pending,
                        Poll::Ready(Ok(permit)) => permit,
                        Poll::Ready(Err(why)) => {
                            this.state.set(RunState::Done);
                            return Poll::Ready(Err(why));
                        }
                    };
                    let work = work.take().expect("the work is kept until a permit comes");
                    this.state.set(RunState::Running { work, permit });
                }
                RunProj::Running { work, .. } => {
                    let out = match work.poll(cx) {
                        Poll::Pending => return Poll::Pending,
                        Poll::Ready(out) => out,
                    };
                    this.state.set(RunState::Done);
                    return Poll::Ready(Ok(out));
                }
                RunProj::Done => panic!("`Run` polled after completion"),
            }
        }
    }
}

#[cfg(all(test, not(loom)))]
mod tests;
