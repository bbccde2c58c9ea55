//! The one error type of the crate's own refusals, and the stage that raised it.

use std::fmt;
use std::time::Duration;

use steadfast::breaker::CircuitOpen;
use steadfast::bulkhead::Rejected;
use steadfast::limiter::LimitError;
use steadfast::timeout::Elapsed;

/// The error type of every service of this crate: the inner service's error, boxed, or an
/// [`Error`] of this crate. The same type as `tower::BoxError`, so the layers stack with
/// tower's own and with axum's `HandleErrorLayer`.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Which layer refused a request. A label for logs and metrics; see [`Error::stage`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Stage {
    /// [`TimeoutLayer`](crate::timeout::TimeoutLayer), or the total timeout of a
    /// [`PipelineLayer`](crate::pipeline::PipelineLayer).
    Timeout,
    /// [`BulkheadLayer`](crate::bulkhead::BulkheadLayer).
    Bulkhead,
    /// [`BreakerLayer`](crate::breaker::BreakerLayer).
    Breaker,
    /// [`RateLimitLayer`](crate::limiter::RateLimitLayer).
    RateLimit,
    /// [`RetryLayer`](crate::retry::RetryLayer).
    Retry,
}

impl Stage {
    /// The stage's name: `"timeout"`, `"bulkhead"`, `"breaker"`, `"rate_limit"`, `"retry"`.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Stage::Timeout => "timeout",
            Stage::Bulkhead => "bulkhead",
            Stage::Breaker => "breaker",
            Stage::RateLimit => "rate_limit",
            Stage::Retry => "retry",
        }
    }
}

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A request refused or cut short by one of this crate's layers, reached from a [`BoxError`]
/// by `downcast_ref::<Error>()`. The core's own error is the variant's value (and the
/// [`source`](std::error::Error::source)), so its details (`retry_after`, the rejection's
/// reason) stay reachable. Errors of the inner service pass through unchanged, boxed.
///
/// ```
/// use steadfast_tower::{BoxError, Error, Stage};
/// use steadfast::bulkhead::Rejected;
///
/// let err: BoxError = Error::Bulkhead(Rejected::Full).into();
/// let ours = err.downcast_ref::<Error>().unwrap();
/// assert_eq!(ours.stage(), Stage::Bulkhead);
/// assert_eq!(ours.reason(), "full");
/// assert_eq!(err.to_string(), "bulkhead: full");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// The response took longer than the [`TimeoutLayer`](crate::timeout::TimeoutLayer)'s
    /// limit; the inner call was dropped.
    TimedOut(Elapsed),
    /// The [`BulkheadLayer`](crate::bulkhead::BulkheadLayer) turned the request away.
    Bulkhead(Rejected),
    /// The [`BreakerLayer`](crate::breaker::BreakerLayer)'s circuit is open.
    CircuitOpen(CircuitOpen),
    /// The [`RateLimitLayer`](crate::limiter::RateLimitLayer) turned the request away.
    RateLimited(LimitError),
    /// The [`RetryLayer`](crate::retry::RetryLayer)'s deadline had passed before the first
    /// attempt: no attempt was made.
    DeadlinePassed,
    /// The last attempt ran past the retry policy's
    /// [`attempt_timeout`](steadfast::retry::RetryPolicyBuilder::attempt_timeout), the limit
    /// given here.
    AttemptTimedOut(Duration),
    /// The [`PipelineLayer`](crate::pipeline::PipelineLayer)'s total timeout, the limit given
    /// here, passed before the call ended.
    TotalTimedOut(Duration),
}

impl Error {
    /// The layer that raised it.
    #[must_use]
    pub const fn stage(&self) -> Stage {
        match self {
            Error::TimedOut(_) | Error::TotalTimedOut(_) => Stage::Timeout,
            Error::Bulkhead(_) => Stage::Bulkhead,
            Error::CircuitOpen(_) => Stage::Breaker,
            Error::RateLimited(_) => Stage::RateLimit,
            Error::DeadlinePassed | Error::AttemptTimedOut(_) => Stage::Retry,
        }
    }

    /// Why, as a short label: `"timed out"`, `"total timeout"`; the bulkhead's `"full"`, `"queue full"`,
    /// `"waited too long"`, `"closed"`; `"circuit open"`; `"rate limited"`, `"queue full"`,
    /// `"insufficient capacity"`; the retry's `"deadline passed"` and `"attempt timed out"`.
    #[must_use]
    pub const fn reason(&self) -> &'static str {
        match self {
            Error::TimedOut(_) => "timed out",
            Error::TotalTimedOut(_) => "total timeout",
            Error::Bulkhead(Rejected::Full) => "full",
            Error::Bulkhead(Rejected::QueueFull) => "queue full",
            Error::Bulkhead(Rejected::WaitedTooLong) => "waited too long",
            Error::Bulkhead(Rejected::Closed) => "closed",
            Error::Bulkhead(other) => other.as_str(),
            Error::CircuitOpen(_) => "circuit open",
            Error::RateLimited(LimitError::RateLimited { .. }) => "rate limited",
            Error::RateLimited(LimitError::QueueFull) => "queue full",
            Error::RateLimited(_) => "insufficient capacity",
            Error::DeadlinePassed => "deadline passed",
            Error::AttemptTimedOut(_) => "attempt timed out",
        }
    }

    /// When to come back, where the layer knows: an open circuit's remaining open time, a
    /// rate limiter's predicted wait. The [`RetryLayer`](crate::retry::RetryLayer) honours it
    /// by default (within its deadline); a server can answer it as a `Retry-After` header.
    #[must_use]
    pub const fn retry_after(&self) -> Option<Duration> {
        match self {
            Error::CircuitOpen(open) => open.retry_after(),
            Error::RateLimited(limit) => limit.retry_after(),
            _ => None,
        }
    }

    /// Whether retrying can help at all: `false` for a closed bulkhead, a request larger than
    /// the limiter's burst and a passed deadline. The retry layer's default rule.
    #[must_use]
    pub const fn is_transient(&self) -> bool {
        !matches!(
            self,
            Error::Bulkhead(Rejected::Closed)
                | Error::RateLimited(LimitError::InsufficientCapacity { .. })
                | Error::DeadlinePassed
        )
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.stage(), self.reason())
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::TimedOut(e) => Some(e),
            Error::Bulkhead(e) => Some(e),
            Error::CircuitOpen(e) => Some(e),
            Error::RateLimited(e) => Some(e),
            Error::DeadlinePassed | Error::AttemptTimedOut(_) | Error::TotalTimedOut(_) => None,
        }
    }
}

/// Boxes one of the crate's refusals: allocates, on the refusal path only.
pub(crate) fn boxed(e: Error) -> BoxError {
    Box::new(e)
}
