//! Observers: one hook for every pattern's events, alone or in a pipeline, that costs nothing
//! when there is none.
//!
//! An [`Observer`] is told each [`Event`] (an attempt started or ended with its duration, a
//! retry scheduled with its delay, a retry refused by the budget, a timeout, a breaker
//! transition or rejection, a limiter wait or rejection, a bulkhead queue or rejection, a
//! hedge launched or won). Events are small `Copy` values with `&'static str` names: no
//! heap, nothing per call to intern, bounded cardinality for metrics. They are produced by
//! the state transitions themselves and delivered from the future that saw them, outside any
//! lock, in the order they happened.
//!
//! # Per call, with `()` the default
//!
//! An observer is set per call, on the future: `.observe(&observer)` on a
//! [`Pipeline`](crate::pipeline::Pipeline) call, a [`Retry`](crate::retry::Retry), a
//! [`Hedge`](crate::hedge::Hedge), a [`Timeout`](crate::timeout::Timeout), a breaker's
//! [`Run`](crate::breaker::Run), a limiter's `acquire`, a bulkhead's `acquire`, `run` and
//! `call`. The future's last
//! type parameter is the observer, `()` by default: `()` keeps no state, reads no clock and
//! compiles to nothing, so a call without an observer is the call it was, in speed and size
//! (a breaker's state machine hands back the transition a call caused, observed or not: on
//! thumbv7m a build that hands back nothing is no smaller).
//! The handles (`Pipeline`, `CircuitBreaker`, `Bulkhead`, `RateLimiter`, the policies) do
//! not change: no setting changes a type that a struct field spells. A pipeline call hands
//! its observer to every stage it runs, so one `.observe` sees the whole call.
//!
//! The choice, against the alternatives: an observer in the handle, set on its builder,
//! would be a generic parameter (changing the type every struct field and `static` spells)
//! or a `&dyn Observer` (a pointer in every handle, a branch and an indirect call at every
//! event, and the reporting code linked into every firmware, observed or not). Per call, the
//! observer's cost is paid by the calls that are observed, and only by them. A call that
//! does not go through a future (`try_acquire`, a permit's `record`) reports nothing: its
//! result is in the caller's hands already; a breaker's transitions are reported to the call
//! that caused them (and to the breaker's
//! [`on_transition`](crate::breaker::CircuitBreakerBuilder::on_transition) callback, whoever
//! caused them).
//!
//! Pass observers by reference (`&observer`, a `static`): each stage of a pipeline call
//! keeps a copy of what was passed. An observer whose [`enabled`](Observer::enabled) says
//! `false` costs a branch per event and reads no clock.
//!
//! # Ready-made observers
//!
//! - `tracing` feature: `tracing::Span` is an observer. Each event is a `tracing` event
//!   (target `steadfast`, level `DEBUG`, a `WARN` for refusals and timeouts) inside that
//!   span: `.observe(&tracing::info_span!("upstream"))` gives a span per pipeline call with
//!   its transitions in it (by reference: each stage keeps a copy of what it is given). Works without `std` (`tracing` without default features). A
//!   disabled span (no subscriber, or filtered out) reads no clock.
//! - `metrics` feature (`std`): `Metrics` counts events and records durations through the
//!   `metrics` facade, under Polly's names: the counter `resilience.steadfast.events`
//!   (labels `event.name`, `strategy.name`, `pipeline.name`), the histograms
//!   `resilience.steadfast.attempt.duration` (`strategy.name`, `attempt.handled`) and
//!   `resilience.steadfast.pipeline.duration` (`pipeline.name`, `outcome`), in
//!   milliseconds. Every label is a `&'static str`.
//! - `defmt` feature: `Defmt` logs each event with `defmt` (and [`Event`] is
//!   `defmt::Format`).
//!
//! # Example
//!
//! A recording observer on tokio, watching a pipeline call retry once:
//!
//! ```
//! use std::sync::Mutex;
//! use std::time::Duration;
//! use steadfast_tokio::TokioTimer;
//! use steadfast_tokio::observe::{Event, Observer};
//! use steadfast_tokio::pipeline::Pipeline;
//! use steadfast_tokio::retry::RetryPolicy;
//!
//! #[derive(Default)]
//! struct Names(Mutex<Vec<&'static str>>);
//!
//! impl Observer for Names {
//!     fn on_event(&self, event: &Event) {
//!         self.0.lock().unwrap().push(event.name());
//!     }
//! }
//!
//! static UPSTREAM: Pipeline<'static> = Pipeline::builder()
//!     .retry(RetryPolicy::builder().max_attempts(3).constant(Duration::from_millis(10)).build_const())
//!     .build_const();
//!
//! # #[tokio::main(flavor = "current_thread", start_paused = true)]
//! # async fn main() {
//! let names = Names::default();
//! let timer = TokioTimer::new();
//! let mut calls = 0;
//! let value = UPSTREAM
//!     .call(&timer, || {
//!         calls += 1;
//!         let n = calls;
//!         async move { if n < 2 { Err("503") } else { Ok(n) } }
//!     })
//!     .observe(&names)
//!     .await;
//! assert_eq!(value, Ok(2));
//! assert_eq!(
//!     *names.0.lock().unwrap(),
//!     ["call_started", "attempt_started", "attempt_ended", "retry_scheduled",
//!      "attempt_started", "attempt_ended", "call_ended"],
//! );
//! # }
//! ```

#[cfg(feature = "defmt")]
mod defmt_observer;
#[cfg(feature = "metrics")]
mod metrics_observer;
#[cfg(feature = "tracing")]
mod tracing_observer;

use core::time::Duration;

use crate::breaker::{State, Transition};
use crate::bulkhead::Rejected;
use crate::{Instant, Timer};

#[cfg(feature = "defmt")]
pub use defmt_observer::Defmt;
#[cfg(feature = "metrics")]
pub use metrics_observer::Metrics;

/// What an [`Observer`] is told: one state transition of a pattern. Every name is a
/// `&'static str`; nothing is allocated.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Event {
    /// A pipeline call began (its first poll).
    CallStarted,
    /// A pipeline call ended: how long it took, from its first poll, and whether it gave a
    /// value.
    CallEnded {
        /// From the call's first poll to its end.
        duration: Duration,
        /// Whether the call gave a value.
        ok: bool,
    },
    /// An attempt began: `pattern` is `"retry"` or `"hedge"`, `attempt` counts from 1.
    AttemptStarted {
        /// The pattern making attempts.
        pattern: &'static str,
        /// The attempt's number, the first is 1.
        attempt: u32,
    },
    /// An attempt ended (its outcome known; a hedge dropped as a loser does not end).
    AttemptEnded {
        /// The pattern making attempts.
        pattern: &'static str,
        /// The attempt's number.
        attempt: u32,
        /// From the attempt's start to its end.
        duration: Duration,
        /// Whether it gave a value (an error, a refusal or a timeout is not ok).
        ok: bool,
    },
    /// The retry will make attempt `attempt + 1` after `delay`.
    RetryScheduled {
        /// The attempt that just ended.
        attempt: u32,
        /// The sleep before the next attempt (zero: none).
        delay: Duration,
    },
    /// The retry budget refused a retry (or a hedge): the call stops retrying.
    BudgetRefused {
        /// The pattern asking: `"retry"` or `"hedge"`.
        pattern: &'static str,
        /// The attempts made.
        attempt: u32,
    },
    /// A timeout expired and its future was dropped: the limit (`None` for a deadline).
    TimedOut {
        /// The duration it ran out of.
        limit: Option<Duration>,
    },
    /// The breaker changed state.
    BreakerTransition(Transition),
    /// The breaker turned a call away: when it lets probes through, if known.
    BreakerRejected {
        /// The wait before a probe may go through.
        retry_after: Option<Duration>,
    },
    /// A call waits in the limiter's queue for its cells.
    LimiterWaiting,
    /// The limiter refused a call: the predicted wait, if it could be met at all.
    LimiterRejected {
        /// When the cells would be there.
        retry_after: Option<Duration>,
    },
    /// A call waits in the bulkhead's queue.
    BulkheadQueued,
    /// The bulkhead turned a call away.
    BulkheadRejected(Rejected),
    /// A hedge began: its attempt number (the first attempt is not a hedge).
    HedgeLaunched {
        /// The hedge's attempt number, from 2.
        attempt: u32,
    },
    /// An attempt won the hedged call; the others were dropped.
    HedgeWon {
        /// The winner's attempt number.
        attempt: u32,
    },
}

impl Event {
    /// The event's name, `snake_case`: a bounded set, fit for a metric label.
    #[must_use]
    pub const fn name(&self) -> &'static str {
        match self {
            Event::CallStarted => "call_started",
            Event::CallEnded { .. } => "call_ended",
            Event::AttemptStarted { .. } => "attempt_started",
            Event::AttemptEnded { .. } => "attempt_ended",
            Event::RetryScheduled { .. } => "retry_scheduled",
            Event::BudgetRefused { .. } => "budget_refused",
            Event::TimedOut { .. } => "timeout",
            Event::BreakerTransition(t) => match t.to {
                State::Closed => "circuit_closed",
                State::HalfOpen => "circuit_half_opened",
                State::Disabled => "circuit_disabled",
                _ => "circuit_opened",
            },
            Event::BreakerRejected { .. } => "circuit_rejected",
            Event::LimiterWaiting => "limiter_waiting",
            Event::LimiterRejected { .. } => "limiter_rejected",
            Event::BulkheadQueued => "bulkhead_queued",
            Event::BulkheadRejected(_) => "bulkhead_rejected",
            Event::HedgeLaunched { .. } => "hedge_launched",
            Event::HedgeWon { .. } => "hedge_won",
        }
    }

    /// The pattern that produced it: `"pipeline"`, `"retry"`, `"hedge"`, `"timeout"`,
    /// `"breaker"`, `"limiter"` or `"bulkhead"`.
    #[must_use]
    pub const fn pattern(&self) -> &'static str {
        match self {
            Event::CallStarted | Event::CallEnded { .. } => "pipeline",
            Event::AttemptStarted { pattern, .. }
            | Event::AttemptEnded { pattern, .. }
            | Event::BudgetRefused { pattern, .. } => pattern,
            Event::RetryScheduled { .. } => "retry",
            Event::TimedOut { .. } => "timeout",
            Event::BreakerTransition(_) | Event::BreakerRejected { .. } => "breaker",
            Event::LimiterWaiting | Event::LimiterRejected { .. } => "limiter",
            Event::BulkheadQueued | Event::BulkheadRejected(_) => "bulkhead",
            Event::HedgeLaunched { .. } | Event::HedgeWon { .. } => "hedge",
        }
    }
}

/// Told every [`Event`] of the calls it observes, in order, outside any lock. See the
/// [module docs](self).
///
/// Implemented for references (`&O`, `&dyn Observer`), so one observer, in a `static` or a
/// local, serves many calls. `on_event` runs inside the future's `poll`: keep it short and
/// make it not block (count, log, push to a bounded buffer).
pub trait Observer {
    /// One event.
    fn on_event(&self, event: &Event);

    /// Whether this observer wants events now (by default, always). While `false`, no
    /// event is built and no clock is read for a duration.
    fn enabled(&self) -> bool {
        true
    }
}

impl<O: Observer + ?Sized> Observer for &O {
    #[inline]
    fn on_event(&self, event: &Event) {
        (**self).on_event(event);
    }

    #[inline]
    fn enabled(&self) -> bool {
        (**self).enabled()
    }
}

mod sealed {
    pub trait Sealed {}
    impl Sealed for () {}
    impl<O: super::Observer> Sealed for O {}
}

/// What a future's observer parameter takes: `()`, the default, which observes nothing and
/// costs nothing, or any [`Observer`]. Sealed: implement [`Observer`] instead.
pub trait Observe: sealed::Sealed + Clone {
    /// What an attempt keeps to report its duration: nothing for `()`.
    #[doc(hidden)]
    type Stamp: Copy;
    /// A stamp for no attempt.
    #[doc(hidden)]
    const BLANK: Self::Stamp;
    /// Reports an event, built only when wanted.
    #[doc(hidden)]
    fn emit(&self, event: impl FnOnce() -> Event);
    /// The start of something to time: the clock's reading, when wanted.
    #[doc(hidden)]
    fn start<T: Timer>(&self, timer: &T, attempt: u32) -> Self::Stamp;
    /// The time since `stamp`, and the number it was given.
    #[doc(hidden)]
    fn since<T: Timer>(&self, timer: &T, stamp: Self::Stamp) -> (Duration, u32);
}

impl Observe for () {
    type Stamp = ();
    const BLANK: () = ();

    #[inline(always)]
    fn emit(&self, _: impl FnOnce() -> Event) {}

    #[inline(always)]
    fn start<T: Timer>(&self, _: &T, _: u32) {}

    #[inline(always)]
    fn since<T: Timer>(&self, _: &T, _: ()) -> (Duration, u32) {
        (Duration::ZERO, 0)
    }
}

impl<O: Observer + Clone> Observe for O {
    type Stamp = (Instant, u32);
    const BLANK: (Instant, u32) = (Instant::from_nanos(0), 0);

    #[inline]
    fn emit(&self, event: impl FnOnce() -> Event) {
        if self.enabled() {
            self.on_event(&event());
        }
    }

    #[inline]
    fn start<T: Timer>(&self, timer: &T, attempt: u32) -> (Instant, u32) {
        let now = if self.enabled() {
            timer.now()
        } else {
            Instant::from_nanos(0)
        };
        (now, attempt)
    }

    #[inline]
    fn since<T: Timer>(&self, timer: &T, (at, attempt): (Instant, u32)) -> (Duration, u32) {
        if !self.enabled() {
            return (Duration::ZERO, attempt);
        }
        (timer.now().saturating_duration_since(at), attempt)
    }
}

#[cfg(all(test, not(loom), feature = "alloc"))]
pub(crate) mod tests;
