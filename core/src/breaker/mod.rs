//! Circuit breaker: stop calling a dependency that keeps failing, probe it after a while, and
//! close again once it answers.
//!
//! A [`CircuitBreaker`] is **closed** while calls go through and their outcomes are recorded.
//! When the failures cross the trip rule it **opens**: every call is turned away at once with
//! [`CircuitOpen`], which says when to come back. After [`open_for`] it is **half-open**: up to
//! [`half_open_probes`] calls go through as probes; when that many succeed it closes, and a
//! failed probe opens it again: for as long, for twice as long each time up to
//! [`max_open_for`], or for a retry policy's next delay, its backoff, cap and jitter included
//! ([`open_backoff`]).
//!
//! It is a plain state machine fed the [`Timer`]'s monotonic [`Instant`]s,
//! behind one short lock (a closed breaker admits without it, reading one atomic word, and
//! records without it a success that changes nothing: under the consecutive-failures rule
//! with no failure in a row, or into a full count window holding no failure): no heap, no
//! timer of its own, `const`-constructible into a `static`.
//!
//! # Trip rules
//!
//! Chosen at construction:
//! - [`consecutive_failures(k)`]: after `k` failures in a row.
//! - [`count_window(size, min_calls)`] (the default: 100 outcomes, 20 calls): the failure rate
//!   over the last `size` outcomes, a real ring (each outcome pushes the oldest out).
//! - [`time_window(window, buckets, min_calls)`]: the failure rate over the last `window` of
//!   the monotonic clock, in buckets that age out whole; a gap longer than the window empties
//!   it, whatever its length.
//!
//! Either rate model trips when, with at least `min_calls` in the window, failures reach
//! [`failure_rate`] percent (default 50), or, with [`slow_calls(threshold, percent)`], when
//! calls slower than `threshold` (whatever their outcome) reach that percent.
//!
//! # Probes that cannot be lost
//!
//! - A probe's slot is taken when the call is **admitted**, never counted at completion, so
//!   no more than [`half_open_probes`] calls are ever in flight as probes.
//! - A [`Permit`] dropped without a result (the call was cancelled) frees its slot and records
//!   nothing; so does [`Outcome::Ignored`].
//! - Every permit carries the epoch of the state that issued it: a result arriving after the
//!   state changed (a slow call from before the trip, a probe whose lease ran out) is
//!   discarded.
//! - Probes hold a lease, [`probe_timeout`] (default 30 s) from the first outstanding probe's
//!   admission: when it runs out, the probes count as failed and the breaker opens again.
//! - Reading the state ([`state`], [`would_admit`], [`metrics`]) changes nothing.
//!
//! # Two ways in
//!
//! [`run`] admits, runs the future, and records its outcome (an `Err` is a failure; change
//! that with [`Run::classify`]); if the call is cancelled, nothing is recorded. The permit
//! API, [`try_acquire`] then [`Permit::record`], is for callers that classify results
//! themselves; [`CircuitBreaker::try_acquire_owned`] gives an [`OwnedPermit`] for futures that
//! must not borrow the breaker (feature `alloc`).
//!
//! # Manual control
//!
//! [`trip_for`]/[`trip_until`] open it from outside (for instance on a 429 with Retry-After),
//! [`force_open`] isolates the dependency until [`reset`], [`disable`] lets everything through
//! and records nothing, [`reset`] closes it with an empty window. [`on_transition`] is called
//! on every change of state, outside the breaker's lock.
//!
//! # One breaker per key, in bounded memory
//!
//! [`KeyedBreaker`] keeps up to `CAP` breakers (one per upstream host, say) in a fixed table
//! with one set of settings. A new key takes the slot of an entry indistinguishable from a fresh
//! breaker (closed, nothing bad in its window, no permit out); an open or half-open entry is
//! never evicted, and when none can go the call is refused with [`KeyedError::TableFull`].
//!
//! Runnable example: `cargo run -p steadfast-tokio --example breaker` (trip, refuse, probe, close,
//! with a transition callback).
//!
//! # Example
//!
//! ```
//! use std::time::Duration;
//! use steadfast_tokio::{TokioTimer, breaker::CircuitBreaker};
//!
//! static UPSTREAM: CircuitBreaker = CircuitBreaker::builder()
//!     .consecutive_failures(3)
//!     .open_for(Duration::from_secs(10))
//!     .build_const();
//!
//! async fn call(ok: bool) -> Result<u32, &'static str> {
//!     if ok { Ok(7) } else { Err("503") }
//! }
//!
//! # #[tokio::main(flavor = "current_thread", start_paused = true)]
//! # async fn main() {
//! let timer = TokioTimer::new();
//! for _ in 0..3 {
//!     assert!(UPSTREAM.run(&timer, call(false)).await.is_err());
//! }
//! // Open: the next call is turned away without running, with the time to wait.
//! let open = UPSTREAM.run(&timer, call(true)).await.unwrap_err();
//! assert_eq!(open.circuit_open().unwrap().retry_after(), Some(Duration::from_secs(10)));
//!
//! tokio::time::sleep(Duration::from_secs(10)).await;
//! // Half-open: one probe goes through; its success closes the breaker.
//! assert_eq!(UPSTREAM.run(&timer, call(true)).await, Ok(7));
//! # }
//! ```
//!
//! On smol or async-std, `steadfast_smol::AsyncIoTimer` takes `TokioTimer`'s place; on embassy,
//! `steadfast_embassy::EmbassyTimer`, with the breaker in a `static` as above.
//!
//! [`open_for`]: CircuitBreakerBuilder::open_for
//! [`max_open_for`]: CircuitBreakerBuilder::max_open_for
//! [`open_backoff`]: CircuitBreakerBuilder::open_backoff
//! [`half_open_probes`]: CircuitBreakerBuilder::half_open_probes
//! [`consecutive_failures(k)`]: CircuitBreakerBuilder::consecutive_failures
//! [`count_window(size, min_calls)`]: CircuitBreakerBuilder::count_window
//! [`time_window(window, buckets, min_calls)`]: CircuitBreakerBuilder::time_window
//! [`failure_rate`]: CircuitBreakerBuilder::failure_rate
//! [`slow_calls(threshold, percent)`]: CircuitBreakerBuilder::slow_calls
//! [`probe_timeout`]: CircuitBreakerBuilder::probe_timeout
//! [`on_transition`]: CircuitBreakerBuilder::on_transition
//! [`state`]: CircuitBreaker::state
//! [`would_admit`]: CircuitBreaker::would_admit
//! [`metrics`]: CircuitBreaker::metrics
//! [`run`]: CircuitBreaker::run
//! [`try_acquire`]: CircuitBreaker::try_acquire
//! [`trip_for`]: CircuitBreaker::trip_for
//! [`trip_until`]: CircuitBreaker::trip_until
//! [`force_open`]: CircuitBreaker::force_open
//! [`disable`]: CircuitBreaker::disable
//! [`reset`]: CircuitBreaker::reset

use core::fmt;
use core::time::Duration;

use maitake_sync::blocking::Mutex;

mod builder;
mod error;
mod gate;
mod keyed;
mod machine;
#[cfg(feature = "alloc")]
mod owned;
mod permit;
mod run;
mod window;

pub use builder::CircuitBreakerBuilder;
pub use error::{BreakerError, CircuitOpen};
pub use keyed::{KeyedBreaker, KeyedError, KeyedPermit, KeyedRun};
#[cfg(feature = "alloc")]
pub use owned::OwnedPermit;
pub use permit::Permit;
pub use run::Run;

use builder::Settings;
#[allow(unused_imports)] // The pipeline's; unused where the module builds alone (loom).
pub(crate) use gate::AnyBreaker;
use gate::{Core, admit, record};
use machine::{Machine, Now};

use crate::loom::{AtomicU32, Ordering, loom_const_fn};
use crate::{Instant, Timer};

/// The state of a breaker.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum State {
    /// Calls go through; their outcomes are recorded.
    Closed,
    /// Calls are turned away until the open time is up.
    Open,
    /// A few calls go through as probes.
    HalfOpen,
    /// Held open by [`CircuitBreaker::force_open`] until reset.
    ForcedOpen,
    /// Every call goes through and nothing is recorded ([`CircuitBreaker::disable`]).
    Disabled,
}

/// How a call ended, as the breaker should count it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Outcome {
    /// The dependency did its job.
    Success,
    /// The dependency failed: counts toward tripping.
    Failure,
    /// Neither (a 404, a cancelled request, a cache miss): not counted; a probe's slot is
    /// freed.
    Ignored,
}

/// A change of state, given to the [`on_transition`](CircuitBreakerBuilder::on_transition)
/// callback.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Transition {
    /// The state before.
    pub from: State,
    /// The state after.
    pub to: State,
    /// When, on the breaker's clock.
    pub at: Instant,
}

/// A snapshot for health endpoints, from [`CircuitBreaker::metrics`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Metrics {
    /// The state a call would meet now.
    pub state: State,
    /// Calls in the window (zero for the consecutive-failures rule).
    pub calls: u32,
    /// Failures in the window.
    pub failures: u32,
    /// Slow calls in the window.
    pub slow_calls: u32,
    /// Failures in a row, as of the last result.
    pub consecutive_failures: u32,
    /// Probes in flight while half-open.
    pub probes_in_flight: u16,
}

/// A circuit breaker whose window has `N` slots of 64 bits: a count window holds up to `32 * N`
/// outcomes, a time window up to `N` buckets. The default, 10, holds 320 outcomes or 10
/// buckets in 80 bytes.
pub struct CircuitBreaker<const N: usize = 10> {
    settings: Settings,
    /// [`Machine::gate`], published under the lock whenever it changes: a closed breaker
    /// admits by reading it, and records a success that would change nothing, without the
    /// lock.
    gate: AtomicU32,
    machine: Mutex<Machine<N>>,
}

impl CircuitBreaker {
    /// Settings for a breaker, starting from the defaults.
    pub const fn builder() -> CircuitBreakerBuilder {
        CircuitBreakerBuilder::new()
    }
}

impl<const N: usize> CircuitBreaker<N> {
    loom_const_fn! {
        fn with_settings(settings: Settings) -> Self {
            CircuitBreaker {
                settings,
                gate: AtomicU32::new(Machine::<N>::new().gate(&settings)),
                machine: Mutex::new(Machine::new()),
            }
        }
    }

    /// Admits a call at `now`, or turns it away with why and when to come back. Record the
    /// call's outcome through the permit; dropping it records nothing.
    ///
    /// # Errors
    ///
    /// [`CircuitOpen`] when the breaker is open or forced open, or half-open with every probe
    /// slot taken.
    pub fn try_acquire(&self, now: Instant) -> Result<Permit<'_>, CircuitOpen> {
        let (ticket, _) = admit(self, &mut Now::at(now)).0?;
        Ok(Permit {
            breaker: self,
            ticket,
            admitted: now,
        })
    }

    /// Runs `work` if the breaker admits it, recording its outcome (an `Err` is a failure, an
    /// `Ok` a success, a call slower than the slow-call threshold is slow). A cancelled call
    /// records nothing and frees its probe slot.
    pub fn run<T, F, V, E>(&self, timer: &T, work: F) -> Run<'_, T, F>
    where
        T: Timer,
        F: Future<Output = Result<V, E>>,
    {
        Run::new(self, timer.clone(), work)
    }

    /// The state a call at `now` would meet. Changes nothing.
    #[must_use]
    pub fn state(&self, now: Instant) -> State {
        self.machine.with_lock(|m| m.state(now))
    }

    /// Whether a call at `now` would be admitted. Changes nothing (no probe slot is taken).
    #[must_use]
    pub fn would_admit(&self, now: Instant) -> bool {
        let s = &self.settings;
        self.machine.with_lock(|m| match m.state(now) {
            State::Closed | State::Disabled => true,
            State::HalfOpen => m.counts(s, now).probes_in_flight < s.probes,
            State::Open | State::ForcedOpen => false,
        })
    }

    /// Counters as of `now`, for health endpoints. Changes nothing.
    #[must_use]
    pub fn metrics(&self, now: Instant) -> Metrics {
        let c = self.machine.with_lock(|m| m.counts(&self.settings, now));
        Metrics {
            state: c.state,
            calls: c.calls,
            failures: c.failures,
            slow_calls: c.slow,
            consecutive_failures: c.consecutive_failures,
            probes_in_flight: c.probes_in_flight,
        }
    }

    /// Opens the breaker for `duration` from `now`, whatever its state; then it goes half-open
    /// as usual.
    pub fn trip_for(&self, now: Instant, duration: Duration) {
        self.trip_until(now, now.saturating_add(duration));
    }

    /// Opens the breaker until `until`, whatever its state.
    pub fn trip_until(&self, now: Instant, until: Instant) {
        let t = self.locked(|m| m.trip_until(until, now));
        self.notify(t);
    }

    /// Holds the breaker open (every call turned away) until [`reset`](Self::reset) or
    /// [`disable`](Self::disable).
    pub fn force_open(&self, now: Instant) {
        let t = self.locked(|m| m.force_open(now));
        self.notify(t);
    }

    /// Lets every call through and records nothing, until [`reset`](Self::reset) or
    /// [`force_open`](Self::force_open).
    pub fn disable(&self, now: Instant) {
        let t = self.locked(|m| m.disable(now));
        self.notify(t);
    }

    /// Closes the breaker with an empty window; results of calls admitted before are
    /// discarded.
    pub fn reset(&self, now: Instant) {
        let t = self.locked(|m| m.reset(now));
        self.notify(t);
    }

    /// The length of the time window in nanoseconds, when the breaker judges one: the longest
    /// window its buckets could come from (a bucket is the window divided by their number,
    /// truncated to whole nanoseconds).
    #[allow(dead_code)] // Read by the pipeline's checks; unused where the module builds alone.
    pub(crate) const fn time_window_nanos(&self) -> Option<u64> {
        match self.settings.shape {
            window::Shape::Time {
                buckets,
                bucket_nanos,
                ..
            } => Some(
                bucket_nanos
                    .saturating_add(1)
                    .saturating_mul(buckets as u64)
                    .saturating_sub(1),
            ),
            _ => None,
        }
    }

    /// The slow-call threshold in nanoseconds, when the breaker has a slow-call rule.
    #[allow(dead_code)] // Read by the pipeline's checks; unused where the module builds alone.
    pub(crate) const fn slow_threshold_nanos(&self) -> Option<u64> {
        match self.settings.slow_nanos {
            0 => None,
            threshold => Some(threshold),
        }
    }

    /// Called with the lock released.
    #[inline(never)]
    fn notify(&self, transition: Option<Transition>) {
        if let (Some(t), Some(f)) = (transition, self.settings.on_transition) {
            f(&t);
        }
    }

    /// Runs `f` on the machine under the lock, then publishes its gate word if it changed
    /// (only lock holders write it, so the relaxed read sees the last value published).
    fn locked<R>(&self, f: impl FnOnce(&mut Machine<N>) -> R) -> R {
        self.machine.with_lock(|m| {
            let r = f(m);
            self.publish(m);
            r
        })
    }

    /// Publishes the machine's gate word if it changed (one copy for every locked path).
    #[inline(never)]
    fn publish(&self, m: &Machine<N>) {
        let gate = m.gate(&self.settings);
        if self.gate.load(Ordering::Relaxed) != gate {
            self.gate.store(gate, Ordering::Release);
        }
    }
}

impl<const N: usize> fmt::Debug for CircuitBreaker<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CircuitBreaker")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

#[cfg(all(test, not(loom)))]
mod tests;
