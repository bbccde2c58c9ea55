//! Chaos: faults injected on purpose, at set rates, into calls to a dependency, for
//! integration tests and simulations (Polly's chaos strategies, no heap, any runtime).
//!
//! A [`Chaos`] stage holds a list of faults, each with a rate (a fraction of the calls,
//! `0.0..=1.0`):
//!
//! | fault | the call | the work |
//! |---|---|---|
//! | [`error`](ChaosBuilder::error) | ends at once with [`Injected::Error`] | does not run |
//! | [`outcome`](ChaosBuilder::outcome) | ends at once with the result its future was given by [`outcome`](Run::outcome) (a fake HTTP 500); without one, as an error fault, with [`Injected::Outcome`] | does not run |
//! | [`latency`](ChaosBuilder::latency) | waits a delay drawn from a [`Latency`], then runs the work | runs, late |
//! | [`stall`](ChaosBuilder::stall) | never ends: pending until dropped (pair it with a timeout) | does not run |
//!
//! A work that does not run is dropped unpolled when the call's future is made; a future
//! dropped at any point holds nothing and leaves nothing behind.
//!
//! # Ways in
//!
//! - [`chaos.run(&timer, work)`](Chaos::run): a [`Run`] future whose output is
//!   `Result<work's output, Injected>` (the nested result).
//! - [`chaos.call(&timer, work)`](Chaos::call) for a `work` whose output is `Result<V, E>`
//!   with `E: From<Injected>`: a [`Call`] future whose output is `Result<V, E>`, so it drops
//!   into a retry or a pipeline operation unchanged:
//!   `pipeline.call(&t, || CHAOS.call(&t, fetch()))`.
//! - [`chaos.draw()`](Chaos::draw): the fault for one call, as a value, for a simulation
//!   or a wrapper of its own (the tower layer uses it, so that a failed call does not call
//!   the inner service at all).
//!
//! # One draw per call
//!
//! Each call draws once, when `run`, `call` or `draw` is called (not at the first poll),
//! and gets at most one fault: the draw is a uniform number in `[0, 1)`, and the faults take
//! consecutive ranges of it in the order they were added to the builder, each as wide as its
//! rate. With `error(0.1)` then `latency(0.2, ..)`, draws in `[0, 0.1)` fail, draws in
//! `[0.1, 0.3)` are delayed, and the other 70 % of calls run untouched. The rates must add up
//! to at most 1; each is kept to 2⁻⁵³.
//!
//! The draws are deterministic: the stage counts its draws (one atomic increment a call)
//! and the `n`-th draw is SplitMix64's `n`-th output for the [`seed`](ChaosBuilder::seed)
//! (the default is 0), so the same seed and the same sequence of calls give the same faults
//! and the same delays on every target. Calls racing on several threads draw distinct
//! numbers, in the order their increments land. The counter is 64 bits where the target has
//! 64-bit atomics, 32 bits elsewhere (the sequence repeats after 2³² calls there).
//!
//! # The switch
//!
//! [`enable`](Chaos::enable) and [`disable`](Chaos::disable) flip the stage at run time from
//! any thread (an atomic flag; a stage starts enabled unless built with
//! [`enabled(false)`](ChaosBuilder::enabled)). A call made while disabled runs its work
//! untouched and consumes no draw: the faults after re-enabling continue the sequence where
//! it stopped. [`metrics`](Chaos::metrics) counts every call and the faults injected, per
//! kind, for a test's assertions or a health endpoint.
//!
//! # Latency
//!
//! [`Latency::Fixed`] and [`Latency::Uniform`] (to the nanosecond) are exact. The heavy
//! tail is [`Latency::Pareto`]: `scale · U^(-1/shape)` for a uniform `U` in `(0, 1]`, cut at
//! `cap`. The core has no `ln` or `powf` (`no_std`) and takes no float library: the power is
//! computed in 32.32 fixed point (a base-2 logarithm by repeated squaring, a power of two from
//! a table of roots of two), integers only, within about 10⁻⁷ of the exact value. The same
//! seed then gives the same delays on a host and on a microcontroller without an FPU; the
//! shape is turned into fixed point once, at construction. The delay's sleep is armed at the
//! call's first poll, on the call's [`Timer`], so virtual time ([`VirtualTimer`], tokio's
//! paused clock) runs a simulated slow dependency in no time.
//!
//! [`VirtualTimer`]: crate::VirtualTimer
//!
//! Runnable example: `cargo run -p steadfast-tokio --example chaos` (a retry pipeline around
//! a chaos-injected dependency: the success rate with chaos enabled, then disabled).
//!
//! # Examples
//!
//! On tokio (`steadfast-tokio`), in a `static`, with the fault converted into the call site's
//! error and an outcome fault answering a fake 503:
//!
//! ```
//! use std::time::Duration;
//! use steadfast_tokio::{TokioTimer, chaos::{Chaos, Injected, Latency}};
//!
//! #[derive(Debug, PartialEq)]
//! enum FetchError { Chaos(Injected), Status(u16) }
//!
//! impl From<Injected> for FetchError {
//!     fn from(i: Injected) -> Self { FetchError::Chaos(i) }
//! }
//!
//! static CHAOS: Chaos = Chaos::builder()
//!     .error(0.1)
//!     .outcome(0.1)
//!     .latency(0.3, Latency::Uniform { min: Duration::from_millis(50), max: Duration::from_millis(200) })
//!     .seed(7)
//!     .build_const();
//!
//! async fn fetch() -> Result<&'static str, FetchError> { Ok("data") }
//!
//! # #[tokio::main(flavor = "current_thread", start_paused = true)]
//! # async fn main() {
//! let timer = TokioTimer::new();
//! let (mut ok, mut failed) = (0, 0);
//! for _ in 0..1000 {
//!     match CHAOS.call(&timer, fetch()).outcome(|| Err(FetchError::Status(503))).await {
//!         Ok(_) => ok += 1,
//!         Err(_) => failed += 1,
//!     }
//! }
//! let m = CHAOS.metrics();
//! assert_eq!(m.calls, 1000);
//! assert_eq!(failed, m.errors + m.outcomes);
//! assert!((150..250).contains(&failed), "about 20 % fail: {failed}");
//!
//! // Off: every call runs untouched, and no draw is taken.
//! CHAOS.disable();
//! assert_eq!(CHAOS.run(&timer, fetch()).await, Ok(Ok("data")));
//! assert_eq!(CHAOS.metrics().drawn, 1000);
//! # }
//! ```
//!
//! On smol or async-std (`steadfast-smol`), a stalled call cut by a timeout:
//!
//! ```
//! use std::time::Duration;
//! use steadfast_smol::{AsyncIoTimer, chaos::Chaos, timeout::TimeoutExt};
//!
//! let chaos = Chaos::builder().stall(1.0).build().unwrap();
//! smol::block_on(async {
//!     let timer = AsyncIoTimer::new();
//!     let hung = chaos.run(&timer, async { "never" }).timeout(&timer, Duration::from_millis(5));
//!     assert!(hung.await.is_err());
//!     assert_eq!(chaos.metrics().stalls, 1);
//! });
//! ```
//!
//! A library generic over the clock, tested on [`VirtualTimer`], with `?` into a boxed error:
//!
//! ```
//! # #[cfg(feature = "alloc")] {
//! use core::time::Duration;
//! use steadfast::{Timer, VirtualTimer, chaos::{Chaos, Latency}};
//!
//! async fn slow_read<T: Timer>(timer: &T, chaos: &Chaos) -> Result<u32, Box<dyn std::error::Error + Send + Sync>> {
//!     Ok(chaos.run(timer, async { 42 }).await?)
//! }
//!
//! let chaos = Chaos::builder().latency(1.0, Latency::Fixed(Duration::from_secs(3))).build().unwrap();
//! let timer = VirtualTimer::new();
//! let out = futures_executor::block_on(timer.auto_advance(slow_read(&timer, &chaos)));
//! assert_eq!(out.unwrap(), 42);
//! assert_eq!(timer.now().as_nanos(), 3_000_000_000);
//! # }
//! ```

mod bits;
mod builder;
mod error;
mod future;
mod latency;

use core::fmt;
use core::future::IntoFuture;
use core::time::Duration;

pub use builder::ChaosBuilder;
pub use error::Injected;
pub use future::{Call, Run};
pub use latency::Latency;

use crate::Timer;
use crate::loom::{AtomicBool, Ordering, loom_const_fn};
use crate::retry::Rng;
use crate::time::nanos_to_duration;
use latency::Delay;

#[cfg(target_has_atomic = "64")]
type Counter = crate::loom::AtomicU64;
#[cfg(not(target_has_atomic = "64"))]
type Counter = crate::loom::AtomicU32;

/// The most faults one stage holds.
const MAX_FAULTS: usize = 8;

/// A draw's range: `[0, ONE)`, 53 bits.
const ONE: u64 = 1 << 53;

/// What a fault does, checked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Action {
    Error,
    Outcome,
    Delay(Delay),
    Stall,
}

/// One fault and the end of its range of the draw (the ranges are consecutive).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Slot {
    bound: u64,
    action: Action,
}

/// The fault one call drew, from [`Chaos::draw`] (`None` there: no fault).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Fault {
    /// End the call with [`Injected::Error`]; do not run the work.
    Error,
    /// End the call with a result the call site supplies; do not run the work.
    Outcome,
    /// Wait this long, then run the work.
    Latency(Duration),
    /// Never end the call; do not run the work.
    Stall,
}

/// A snapshot of a chaos stage's counters, from [`Chaos::metrics`]. The counts wrap around
/// (at 2⁶⁴, or 2³² on targets without 64-bit atomics).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Metrics {
    /// Every call through the stage (`run`, `call`, `draw`), enabled or not.
    pub calls: u64,
    /// The calls made while enabled: each took one draw.
    pub drawn: u64,
    /// Error faults injected.
    pub errors: u64,
    /// Outcome faults injected (with a replacement result or without).
    pub outcomes: u64,
    /// Latency faults injected.
    pub latencies: u64,
    /// Stall faults injected.
    pub stalls: u64,
}

impl Metrics {
    /// Every fault injected, whatever its kind (wrapping).
    #[must_use]
    pub fn injected(&self) -> u64 {
        self.errors
            .wrapping_add(self.outcomes)
            .wrapping_add(self.latencies)
            .wrapping_add(self.stalls)
    }
}

/// A chaos stage: faults at set rates, drawn deterministically from a seed, switchable at
/// run time. No heap, `const`-constructible into a `static`, shared by reference (or an
/// `Arc`) by every caller. See the [module docs](self).
pub struct Chaos {
    slots: [Slot; MAX_FAULTS],
    len: u8,
    seed: u64,
    enabled: AtomicBool,
    calls: Counter,
    drawn: Counter,
    /// Errors, outcomes, latencies, stalls.
    injected: [Counter; 4],
}

impl Chaos {
    /// Settings for a stage with no faults yet, enabled, seed 0.
    pub const fn builder() -> ChaosBuilder {
        ChaosBuilder::new()
    }

    loom_const_fn! {
        fn with_slots(slots: [Slot; MAX_FAULTS], len: u8, seed: u64, enabled: bool) -> Self {
            Chaos {
                slots,
                len,
                seed,
                enabled: AtomicBool::new(enabled),
                calls: Counter::new(0),
                drawn: Counter::new(0),
                injected: [Counter::new(0), Counter::new(0), Counter::new(0), Counter::new(0)],
            }
        }
    }

    /// Runs `work` under the stage: a [`Run`] future whose output is the work's output, or
    /// the [`Injected`] fault. The fault is drawn now (see the [module docs](self)).
    pub fn run<T: Timer, F: IntoFuture>(&self, timer: &T, work: F) -> Run<F::IntoFuture, T> {
        Run::new(timer, self.draw(), work.into_future())
    }

    /// Runs `work`, whose output is `Result<V, E>`, under the stage: a [`Call`] future whose
    /// output is `Result<V, E>`, an injected fault converted with `E::from`.
    pub fn call<T: Timer, F: IntoFuture>(&self, timer: &T, work: F) -> Call<F::IntoFuture, T> {
        Call::new(self.run(timer, work))
    }

    /// Draws the fault for one call, counting it in the [`metrics`](Self::metrics): `None`
    /// for a call to run untouched (and always while disabled, without a draw taken). What
    /// [`run`](Self::run) and [`call`](Self::call) do first.
    pub fn draw(&self) -> Option<Fault> {
        bump(&self.calls);
        if !self.enabled.load(Ordering::Relaxed) {
            return None;
        }
        let n = bump(&self.drawn);
        let bits = Rng::nth(self.seed, n);
        let x = bits >> 11;
        let slot = self.slots[..usize::from(self.len)]
            .iter()
            .find(|s| x < s.bound)?;
        let (kind, fault) = match slot.action {
            Action::Error => (0, Fault::Error),
            Action::Outcome => (1, Fault::Outcome),
            Action::Delay(d) => {
                let nanos = d.sample(Rng::new(bits).next_u64());
                (2, Fault::Latency(nanos_to_duration(nanos)))
            }
            Action::Stall => (3, Fault::Stall),
        };
        bump(&self.injected[kind]);
        Some(fault)
    }

    /// Turns fault injection on (from any thread; calls made after it draw).
    pub fn enable(&self) {
        self.enabled.store(true, Ordering::Relaxed);
    }

    /// Turns fault injection off (from any thread): calls made after it run their work
    /// untouched and take no draw. Calls already made keep the fault they drew.
    pub fn disable(&self) {
        self.enabled.store(false, Ordering::Relaxed);
    }

    /// Whether fault injection is on.
    #[must_use]
    pub fn is_enabled(&self) -> bool {
        self.enabled.load(Ordering::Relaxed)
    }

    /// The counters: calls, draws and faults injected per kind. Changes nothing.
    #[must_use]
    pub fn metrics(&self) -> Metrics {
        // The same type where the counter is 64 bits; widened where it is 32.
        #[allow(clippy::useless_conversion)]
        let load = |c: &Counter| u64::from(c.load(Ordering::Relaxed));
        Metrics {
            calls: load(&self.calls),
            drawn: load(&self.drawn),
            errors: load(&self.injected[0]),
            outcomes: load(&self.injected[1]),
            latencies: load(&self.injected[2]),
            stalls: load(&self.injected[3]),
        }
    }
}

impl fmt::Debug for Chaos {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Chaos")
            .field("faults", &&self.slots[..usize::from(self.len)])
            .field("seed", &self.seed)
            .field("enabled", &self.is_enabled())
            .finish_non_exhaustive()
    }
}

/// Adds one, wrapping; the count before it.
// The same type where the counter is 64 bits; widened where it is 32.
#[allow(clippy::useless_conversion)]
fn bump(c: &Counter) -> u64 {
    u64::from(c.fetch_add(1, Ordering::Relaxed))
}

// The tests drive the stage on `VirtualTimer`, which needs `alloc`.
#[cfg(all(test, not(loom), feature = "alloc"))]
mod tests;
