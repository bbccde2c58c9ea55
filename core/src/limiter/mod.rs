//! Rate limiter: at most `rate` cells per period, with bursts, fair asynchronous waiting and
//! one timer for any number of waiters.
//!
//! A [`RateLimiter`] runs the generic cell rate algorithm (GCRA) on the [`Timer`]'s
//! monotonic [`Instant`]: one theoretical arrival time (TAT) in nanoseconds, moved forward
//! by one emission interval `T = period / rate` per cell granted, with a tolerance
//! `τ = T · (burst − 1)`. `n` cells are granted at `now` when `TAT + T·(n − 1) − τ ≤ now`;
//! the TAT becomes `max(TAT, now) + T·n`. Nothing refills the bucket on a timer: the cells
//! are counted at acquisition, so a rate of 1 per second grants exactly one cell a second
//! over any length of time, with no drift. `T` is `period / rate` in whole nanoseconds
//! (truncated, at most 1 ns short per cell). The arithmetic saturates and, on the hot path,
//! only multiplies and adds (no 64-bit division, a library routine on Cortex-M).
//!
//! No heap, `const`-constructible into a `static`; every `&'static` or `Arc` of one limiter
//! shares its state. [`KeyedRateLimiter`] keeps one such bucket per key (client, tenant,
//! endpoint) in a table of fixed capacity, evicting only entries indistinguishable from a
//! fresh bucket (full again, nobody waiting); a new key finding none is refused with
//! [`LimitError::TableFull`].
//!
//! # Three ways in
//!
//! - [`try_acquire(now, n)`](RateLimiter::try_acquire): the cells now, or
//!   [`LimitError::RateLimited`] with the wait until they are there.
//! - [`acquire(&timer, n)`](RateLimiter::acquire): waits for them.
//! - [`acquire_within(&timer, n, max_wait)`](RateLimiter::acquire_within): waits for them
//!   if the predicted wait is at most `max_wait`; otherwise refused **at once** with the
//!   predicted wait, rather than after waiting it out.
//!
//! Asking for more cells than the burst is [`LimitError::InsufficientCapacity`] at once (it
//! could never be granted); asking for 0 is granted at once and takes nothing.
//!
//! # Fair waiting, one timer
//!
//! Waiters are served first come, first served. The first in line (the head) computes the
//! exact instant its cells are due from the TAT and sleeps on the timer until then; the others
//! wait for their turn without a timer, so a thousand waiters arm one timer (which matters
//! for embassy's fixed timer queue), and no herd wakes to compete. Once granted, the head
//! hands the turn on and the next waiter computes its own instant. A waiter dropped
//! mid-wait (its future cancelled) gives up its place; a head dropped mid-wait hands its turn
//! on at once, with no extra delay, and as no cells are reserved before the grant, nothing is
//! handed back. [`max_waiters`](RateLimiterBuilder::max_waiters) caps the queue: one caller
//! more is refused at once with [`LimitError::QueueFull`].
//!
//! While anyone waits, [`try_acquire`](RateLimiter::try_acquire) refuses even cells that would
//! fit (strict first come, first served: head-of-line blocking, as .NET's `OldestFirst`), so
//! a stream of small requests cannot starve a large one.
//!
//! # The state word, and 32-bit targets
//!
//! Where the target has 64-bit atomics, the TAT is one `AtomicU64` while nobody waits, and
//! [`try_acquire`](RateLimiter::try_acquire) is a load and a compare-and-swap on it, with no
//! lock (as governor's direct limiter). The queue's counts sit behind one short lock (see
//! [the crate's locks](crate#locks-and-interrupt-priority)) that only the waiting path
//! takes; while anyone waits, the word is a marker and the TAT is behind that lock too, so a
//! try sees the queue in the same word it would swap. A TAT in the word saturates one
//! nanosecond short of the clock's end.
//!
//! 32-bit Cortex-M (M0 to M7, M33) and RISC-V cores have no 64-bit atomics: there the whole
//! state (TAT and counts) is behind that lock (its spinlock taken inside a critical section
//! with the `critical-section` feature), and `try_acquire` takes it.
//!
//! Runnable example: `cargo run -p steadfast-tokio --example limiter` (a burst, a bounded wait
//! refused at once, FIFO waiters).
//!
//! # Example
//!
//! ```
//! use std::time::Duration;
//! use steadfast_tokio::{TokioTimer, Timer, limiter::{LimitError, RateLimiter}};
//!
//! // 10 calls a second, at most 5 at once.
//! static API: RateLimiter = RateLimiter::builder(10, Duration::from_secs(1))
//!     .burst(5)
//!     .build_const();
//!
//! # #[tokio::main(flavor = "current_thread", start_paused = true)]
//! # async fn main() {
//! let timer = TokioTimer::new();
//! let start = tokio::time::Instant::now();
//! for _ in 0..5 {
//!     API.try_acquire(timer.now(), 1).unwrap();
//! }
//! // The burst is spent: the next cell comes 100 ms later.
//! let err = API.try_acquire(timer.now(), 1).unwrap_err();
//! assert_eq!(err.retry_after(), Some(Duration::from_millis(100)));
//!
//! // Waiting for 3 cells would take 300 ms: refused at once rather than waited out.
//! let err = API.acquire_within(&timer, 3, Duration::from_millis(200)).await.unwrap_err();
//! assert_eq!(err, LimitError::RateLimited { retry_after: Duration::from_millis(300) });
//!
//! API.acquire(&timer, 3).await.unwrap();
//! assert_eq!(start.elapsed(), Duration::from_millis(300));
//! # }
//! ```
//!
//! On smol or async-std, with `AsyncIoTimer` and a limiter shared through an `Arc`:
//!
//! ```
//! use std::{sync::Arc, time::Duration};
//! use steadfast_smol::{AsyncIoTimer, Timer, limiter::RateLimiter};
//!
//! let limiter = Arc::new(RateLimiter::builder(1000, Duration::from_secs(1)).build().unwrap());
//! smol::block_on(async {
//!     let timer = AsyncIoTimer::new();
//!     let start = timer.now();
//!     for _ in 0..1002 {
//!         limiter.acquire(&timer, 1).await.unwrap();
//!     }
//!     // A burst of 1000, then one cell a millisecond.
//!     assert!(timer.now() - start >= Duration::from_millis(2));
//! });
//! ```
//!
//! On embassy, in a `static`, with `steadfast_embassy::EmbassyTimer`:
//!
//! ```ignore
//! static RADIO: RateLimiter = RateLimiter::builder(4, Duration::from_secs(1)).build_const();
//!
//! #[embassy_executor::task(pool_size = 4)]
//! async fn sender(timer: EmbassyTimer) {
//!     loop {
//!         RADIO.acquire(&timer, 1).await.unwrap();
//!         send_frame().await;
//!     }
//! }
//! ```
//!
//! On a 429 from the server, [`drain`](RateLimiter::drain) empties the bucket, so the next
//! cell comes one interval later; [`metrics`](RateLimiter::metrics) reads the cells available
//! and the queue for health endpoints without changing anything.

use core::fmt;
use core::time::Duration;

use crate::sync::Semaphore;

mod acquire;
mod builder;
mod error;
mod gcra;
mod keyed;

pub use acquire::Acquire;
pub use builder::RateLimiterBuilder;
pub use error::LimitError;
pub use keyed::{KeyedAcquire, KeyedRateLimiter};

use gcra::{Gcra, Params, Refusal, State};

use crate::loom::loom_const_fn;
use crate::time::duration_to_nanos;
use crate::{Instant, Timer};

/// A snapshot for health endpoints, from [`RateLimiter::metrics`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Metrics {
    /// Cells that could be taken now, if nobody were waiting (0 to the burst).
    pub available: u32,
    /// Callers waiting in [`acquire`](RateLimiter::acquire).
    pub waiters: u32,
    /// The cells they ask for, together.
    pub queued_cells: u64,
    /// The most cells granted at once.
    pub burst: u32,
}

/// A GCRA rate limiter with fair waiting. See the [module docs](self).
pub struct RateLimiter {
    gcra: Gcra,
    /// One permit: its holder is the head of the queue of waiters.
    turn: Semaphore,
}

impl RateLimiter {
    /// Settings for a limiter of `rate` cells per `per` (at least 1 cell, a period above
    /// zero); the burst defaults to `rate`.
    pub const fn builder(rate: u32, per: Duration) -> RateLimiterBuilder {
        RateLimiterBuilder::new(rate, per)
    }

    loom_const_fn! {
        fn with_params(params: Params) -> Self {
            RateLimiter {
                gcra: Gcra::new(params),
                turn: Semaphore::new(1),
            }
        }
    }

    /// Takes `n` cells at `now`, or refuses at once.
    ///
    /// # Errors
    ///
    /// [`LimitError::RateLimited`] with the wait until they could be taken, when they are not
    /// there or others are waiting (they go first); [`LimitError::InsufficientCapacity`] when
    /// `n` exceeds the burst.
    pub fn try_acquire(&self, now: Instant, n: u32) -> Result<(), LimitError> {
        self.gcra
            .try_acquire(now.as_nanos(), n)
            .map_err(|r| self.refused(r, n))
    }

    fn refused(&self, r: Refusal, n: u32) -> LimitError {
        LimitError::from_refusal(r, n, self.gcra.params.burst)
    }

    /// Waits for `n` cells, first come, first served; see [`Acquire`].
    ///
    /// The future's error is [`LimitError::InsufficientCapacity`] when `n` exceeds the
    /// burst, or [`LimitError::QueueFull`] when the queue is at
    /// [`max_waiters`](RateLimiterBuilder::max_waiters), both at once.
    pub fn acquire<T: Timer>(&self, timer: &T, n: u32) -> Acquire<'_, T> {
        Acquire::new(self, timer.clone(), n, u64::MAX)
    }

    /// Waits for `n` cells as [`acquire`](Self::acquire) does if the predicted wait (behind
    /// the cells already queued) is at most `max_wait`; otherwise the future is ready at once
    /// with [`LimitError::RateLimited`] and the predicted wait.
    pub fn acquire_within<T: Timer>(
        &self,
        timer: &T,
        n: u32,
        max_wait: Duration,
    ) -> Acquire<'_, T> {
        Acquire::new(self, timer.clone(), n, duration_to_nanos(max_wait))
    }

    /// Empties the bucket at `now` (for instance on a 429 from the server): the next cell is
    /// granted one interval later, the burst refills at the usual rate. Waiters keep their
    /// places and wait longer.
    pub fn drain(&self, now: Instant) {
        self.gcra.drain(now.as_nanos());
    }

    /// The cells available at `now` and the queue, for health endpoints. Changes nothing.
    #[must_use]
    pub fn metrics(&self, now: Instant) -> Metrics {
        Metrics::of(&self.gcra.state(), &self.gcra.params, now)
    }
}

impl Metrics {
    fn of(state: &State, params: &Params, now: Instant) -> Self {
        let (available, waiters, queued_cells) = state.snapshot(params, now.as_nanos());
        Metrics {
            available,
            waiters,
            queued_cells,
            burst: params.burst,
        }
    }
}

impl fmt::Debug for RateLimiter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RateLimiter")
            .field("params", &self.gcra.params)
            .finish_non_exhaustive()
    }
}

// The tests drive the limiter on `VirtualTimer`, which needs `alloc`.
#[cfg(all(test, not(loom), feature = "alloc"))]
mod tests;
