//! Why a breaker turned a call away, and the error of a call run through it.

use core::fmt;
use core::time::Duration;

use super::State;
use crate::time::nanos_to_duration;

/// A call the breaker turned away without running it: why, and when to come back if that is
/// known.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct CircuitOpen {
    state: State,
    /// Nanoseconds: made a `Duration` only when asked for (no 64-bit division on the way).
    retry_after: Option<u64>,
}

impl CircuitOpen {
    /// The state that turned the call away: [`State::Open`], [`State::ForcedOpen`], or
    /// [`State::HalfOpen`] with every probe slot taken.
    #[must_use]
    pub const fn state(&self) -> State {
        self.state
    }

    /// How long until the breaker lets probes through, when it is open for a known time. A
    /// retry around the breaker can wait this long, or skip the attempt when it does not fit
    /// its deadline.
    #[must_use]
    pub const fn retry_after(&self) -> Option<Duration> {
        match self.retry_after {
            Some(n) => Some(nanos_to_duration(n)),
            None => None,
        }
    }
}

impl CircuitOpen {
    /// A refusal by a breaker in `state`, with the nanoseconds until probes, if known.
    pub(super) const fn new(state: State, retry_after: Option<u64>) -> Self {
        CircuitOpen { state, retry_after }
    }
}

impl fmt::Display for CircuitOpen {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.state, self.retry_after) {
            (State::HalfOpen, _) => f.write_str("circuit half-open: every probe slot is taken"),
            (State::ForcedOpen, _) => f.write_str("circuit forced open"),
            (_, Some(n)) => write!(f, "circuit open; retry after {:?}", nanos_to_duration(n)),
            (_, None) => f.write_str("circuit open"),
        }
    }
}

impl core::error::Error for CircuitOpen {}

/// The error of a call run through [`CircuitBreaker::run`](super::CircuitBreaker::run): the
/// breaker turned it away, or the call itself failed.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum BreakerError<E> {
    /// Turned away; the call was not made.
    Open(CircuitOpen),
    /// The call was made and failed with its own error.
    Failed(E),
}

impl<E> BreakerError<E> {
    /// The rejection, when the breaker turned the call away.
    #[must_use]
    pub fn circuit_open(&self) -> Option<&CircuitOpen> {
        match self {
            BreakerError::Open(o) => Some(o),
            BreakerError::Failed(_) => None,
        }
    }

    /// The call's own error, when it was made.
    #[must_use]
    pub fn into_failed(self) -> Option<E> {
        match self {
            BreakerError::Failed(e) => Some(e),
            BreakerError::Open(_) => None,
        }
    }
}

impl<E> From<CircuitOpen> for BreakerError<E> {
    fn from(o: CircuitOpen) -> Self {
        BreakerError::Open(o)
    }
}

impl<E> fmt::Display for BreakerError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BreakerError::Open(o) => fmt::Display::fmt(o, f),
            BreakerError::Failed(_) => f.write_str("the call through the circuit breaker failed"),
        }
    }
}

impl<E: core::error::Error + 'static> core::error::Error for BreakerError<E> {
    fn source(&self) -> Option<&(dyn core::error::Error + 'static)> {
        match self {
            BreakerError::Open(_) => None,
            BreakerError::Failed(e) => Some(e),
        }
    }
}
