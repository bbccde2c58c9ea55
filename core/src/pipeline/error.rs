//! The one error of a pipeline call.

use core::fmt;
use core::time::Duration;

use crate::breaker::CircuitOpen;
use crate::bulkhead::Rejected;
use crate::limiter::LimitError;
use crate::retry::RetryError;

/// Why a [`Pipeline`](super::Pipeline) call gave no value: the operation's own error, or
/// which stage refused and why.
///
/// It is a [`core::error::Error`] when `E` is one (and `'static`), with the operation's error
/// as its [`source`](core::error::Error::source) (for [`Failed`](Self::Failed) and
/// [`RetriesExhausted`](Self::RetriesExhausted)); `Display` does not repeat that error's text
/// (anyhow's `{:#}` prints the chain). So `?` takes it into `anyhow::Error` or
/// `Box<dyn Error + Send + Sync>`. For an operation whose error is `anyhow::Error` or a boxed
/// error (not [`core::error::Error`] themselves), take it out with
/// [`into_error`](Self::into_error). `Send` and `Sync` when `E` is.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum PipelineError<E> {
    /// The operation ran and failed, and its error was not retried: the pipeline has no retry
    /// stage, or the error was judged permanent.
    Failed(E),
    /// The retry stage gave up: the attempts ran out, the next wait would have ended past the
    /// deadline, or the retry budget was spent. The [`RetryError`] holds the last attempt's
    /// error (or its attempt timeout), the attempts made and the reason.
    RetriesExhausted(RetryError<E>),
    /// The total timeout passed: whatever ran (an attempt, a wait, a backoff sleep) was
    /// dropped. The duration is the total timeout.
    Timeout(Duration),
    /// The attempt ran out of its attempt timeout and was dropped, and no retry followed
    /// (the pipeline has no retry stage).
    AttemptTimeout(Duration),
    /// The circuit breaker turned the (last) attempt away; it says when to come back.
    CircuitOpen(CircuitOpen),
    /// The rate limiter refused the (last) attempt; [`LimitError::retry_after`] is the wait.
    RateLimited(LimitError),
    /// The bulkhead turned the call away (full, its queue full, waited too long, or closed).
    BulkheadRejected(Rejected),
}

impl<E> PipelineError<E> {
    /// The operation's error, when it ran and failed ([`Failed`](Self::Failed), or the last
    /// attempt of [`RetriesExhausted`](Self::RetriesExhausted)).
    #[must_use]
    pub fn error(&self) -> Option<&E> {
        match self {
            PipelineError::Failed(e) => Some(e),
            PipelineError::RetriesExhausted(r) => r.error(),
            _ => None,
        }
    }

    /// The operation's error, by value; see [`error`](Self::error).
    #[must_use]
    pub fn into_error(self) -> Option<E> {
        match self {
            PipelineError::Failed(e) => Some(e),
            PipelineError::RetriesExhausted(r) => r.into_error(),
            _ => None,
        }
    }

    /// When to come back, if a stage said: the open circuit's wait or the rate limiter's.
    #[must_use]
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            PipelineError::CircuitOpen(o) => o.retry_after(),
            PipelineError::RateLimited(l) => l.retry_after(),
            _ => None,
        }
    }

    /// Whether a stage refused the call (breaker, limiter or bulkhead) rather than the
    /// operation failing or time running out.
    #[must_use]
    pub fn is_refusal(&self) -> bool {
        matches!(
            self,
            PipelineError::CircuitOpen(_)
                | PipelineError::RateLimited(_)
                | PipelineError::BulkheadRejected(_)
        )
    }
}

impl<E> fmt::Display for PipelineError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PipelineError::Failed(_) => f.write_str("the operation failed"),
            PipelineError::RetriesExhausted(r) => fmt::Display::fmt(r, f),
            PipelineError::Timeout(d) => write!(f, "total timeout of {d:?} passed"),
            PipelineError::AttemptTimeout(d) => write!(f, "the attempt timed out after {d:?}"),
            PipelineError::CircuitOpen(o) => fmt::Display::fmt(o, f),
            PipelineError::RateLimited(l) => fmt::Display::fmt(l, f),
            PipelineError::BulkheadRejected(r) => fmt::Display::fmt(r, f),
        }
    }
}

impl<E: core::error::Error + 'static> core::error::Error for PipelineError<E> {
    fn source(&self) -> Option<&(dyn core::error::Error + 'static)> {
        // The stages' own refusals are told by this error's message.
        match self.error() {
            Some(e) => Some(e),
            None => None,
        }
    }
}
