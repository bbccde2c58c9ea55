//! What a retry gives back when it gives up.

use core::fmt;
use core::time::Duration;

/// Why a [`Retry`](super::Retry) stopped trying, or a [`Hedge`](crate::hedge::Hedge) started
/// no further attempt.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum GiveUpReason {
    /// The last allowed attempt failed: [`max_attempts`](super::RetryPolicyBuilder::max_attempts)
    /// attempts were made.
    AttemptsExhausted,
    /// The deadline had passed before the first attempt, or the next sleep (the next hedge)
    /// would have ended (started) past it, so no further attempt was started.
    Deadline,
    /// The shared [`RetryBudget`](super::RetryBudget) had no retry left.
    Budget,
    /// The error predicate judged the error permanent: it was not retried (a hedge's fatal
    /// error: the other attempts were cancelled).
    Permanent,
}

impl fmt::Display for GiveUpReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            GiveUpReason::AttemptsExhausted => "attempts exhausted",
            GiveUpReason::Deadline => "deadline reached",
            GiveUpReason::Budget => "retry budget exhausted",
            GiveUpReason::Permanent => "permanent error",
        })
    }
}

/// How the last attempt ended.
#[derive(Clone, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
enum Last<E> {
    Failed(E),
    /// It ran out of its attempt timeout, this long.
    TimedOut(Duration),
    /// No attempt was made: the deadline had passed at the first poll.
    NotStarted,
}

/// What the caller of a [`Retry`](super::Retry) gets when it gives up: how the last attempt
/// ended (its error, or its timeout), how many attempts were made, and why it stopped.
///
/// [`error`](RetryError::error) borrows the last attempt's error and
/// [`into_error`](RetryError::into_error) hands it back; both are `None` when the last attempt
/// timed out ([`timeout`](RetryError::timeout) then says after how long, and so does
/// `Display`) or when no attempt was made (a deadline that had passed already).
///
/// It is a [`core::error::Error`] whenever the operation's error is one (and `'static`):
/// `?` turns it into `anyhow::Error` or `Box<dyn Error + Send + Sync>`, and
/// [`source`](core::error::Error::source) is the last attempt's error, so error chains and
/// downcasts reach it. `Display` does not repeat that error's text (a
/// chain printer such as anyhow's `{:#}` shows it next). For operation errors that are not
/// [`core::error::Error`] themselves, such as `anyhow::Error` or
/// `Box<dyn Error + Send + Sync>`, take the error out with
/// [`into_error`](RetryError::into_error). `Send` and `Sync` when the error is.
///
/// ```
/// # #[cfg(feature = "std")] {
/// use std::io;
/// use steadfast::retry::{GiveUpReason, MakeAttempt, RetryPolicy};
/// use steadfast::VirtualTimer;
///
/// let policy = RetryPolicy::builder().max_attempts(2).build().unwrap();
/// let timer = VirtualTimer::new();
/// let call = || async { Err::<(), _>(io::Error::other("connection reset")) };
/// let err = futures_executor::block_on(timer.auto_advance(call.retry(&policy, &timer)))
///     .unwrap_err();
/// assert_eq!(err.reason(), GiveUpReason::AttemptsExhausted);
/// assert_eq!(err.to_string(), "gave up after 2 attempts: attempts exhausted");
/// let boxed: Box<dyn std::error::Error + Send + Sync> = err.into();
/// let source = boxed.source().unwrap();
/// assert_eq!(source.to_string(), "connection reset");
/// # }
/// ```
#[derive(Clone, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct RetryError<E> {
    last: Last<E>,
    attempts: u32,
    reason: GiveUpReason,
}

impl<E> RetryError<E> {
    pub(crate) const fn failed(error: E, attempts: u32, reason: GiveUpReason) -> Self {
        RetryError {
            last: Last::Failed(error),
            attempts,
            reason,
        }
    }

    pub(crate) const fn timed_out(limit: Duration, attempts: u32, reason: GiveUpReason) -> Self {
        RetryError {
            last: Last::TimedOut(limit),
            attempts,
            reason,
        }
    }

    pub(crate) const fn not_started() -> Self {
        RetryError {
            last: Last::NotStarted,
            attempts: 0,
            reason: GiveUpReason::Deadline,
        }
    }

    /// The error of the last attempt; `None` when it timed out or no attempt was made.
    #[must_use]
    pub const fn error(&self) -> Option<&E> {
        match &self.last {
            Last::Failed(error) => Some(error),
            _ => None,
        }
    }

    /// The error of the last attempt, by value; `None` when it timed out or no attempt was
    /// made.
    #[must_use]
    pub fn into_error(self) -> Option<E> {
        match self.last {
            Last::Failed(error) => Some(error),
            _ => None,
        }
    }

    /// The [`attempt_timeout`](super::RetryPolicyBuilder::attempt_timeout) the last attempt
    /// ran out of, when it did.
    #[must_use]
    pub const fn timeout(&self) -> Option<Duration> {
        match self.last {
            Last::TimedOut(limit) => Some(limit),
            _ => None,
        }
    }

    /// How many attempts were made, the first call included (0 when the deadline had passed
    /// at the first poll).
    #[must_use]
    pub const fn attempts(&self) -> u32 {
        self.attempts
    }

    /// Why retrying stopped.
    #[must_use]
    pub const fn reason(&self) -> GiveUpReason {
        self.reason
    }
}

impl<E: fmt::Debug> fmt::Debug for RetryError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = f.debug_struct("RetryError");
        match &self.last {
            Last::Failed(error) => s.field("error", error),
            Last::TimedOut(limit) => s.field("timeout", limit),
            Last::NotStarted => s.field("error", &None::<()>),
        };
        s.field("attempts", &self.attempts)
            .field("reason", &self.reason)
            .finish()
    }
}

impl<E> fmt::Display for RetryError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.last, self.attempts) {
            (Last::NotStarted, _) => write!(f, "gave up before the first attempt: {}", self.reason),
            (last, n) => {
                let plural = if n == 1 { "" } else { "s" };
                write!(f, "gave up after {n} attempt{plural}")?;
                if let Last::TimedOut(limit) = last {
                    write!(f, ", the last timed out after {limit:?}")?;
                }
                write!(f, ": {}", self.reason)
            }
        }
    }
}

impl<E: core::error::Error + 'static> core::error::Error for RetryError<E> {
    fn source(&self) -> Option<&(dyn core::error::Error + 'static)> {
        match &self.last {
            Last::Failed(error) => Some(error),
            // The timeout is told by this error's own message.
            Last::TimedOut(_) | Last::NotStarted => None,
        }
    }
}
