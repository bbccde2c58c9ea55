use core::fmt;

/// Why a [`Retry`](super::Retry) stopped trying.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum GiveUpReason {
    /// The last allowed attempt failed: [`max_attempts`](super::RetryPolicyBuilder::max_attempts)
    /// attempts were made.
    AttemptsExhausted,
    /// The next sleep would have ended past the deadline, so no further attempt was started.
    Deadline,
    /// The shared [`RetryBudget`](super::RetryBudget) had no retry left.
    Budget,
    /// The error predicate judged the error permanent: it was not retried.
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

/// What the caller of a [`Retry`](super::Retry) gets when it gives up: the last error itself,
/// how many attempts were made and why it stopped.
///
/// The error is not hidden behind an opaque wrapper: [`error`](RetryError::error) borrows it,
/// [`into_error`](RetryError::into_error) hands it back, and `Display` shows it first.
/// [`source`](core::error::Error::source) is the error's own source, so an error chain does not
/// show the last error twice.
#[derive(Clone, PartialEq, Eq)]
pub struct RetryError<E> {
    error: E,
    attempts: u32,
    reason: GiveUpReason,
}

impl<E> RetryError<E> {
    /// A give-up error: `error` is the error of the last attempt, `attempts` the number of
    /// attempts made (the first call counts as attempt 1).
    pub const fn new(error: E, attempts: u32, reason: GiveUpReason) -> Self {
        RetryError {
            error,
            attempts,
            reason,
        }
    }

    /// The error of the last attempt.
    #[must_use]
    pub const fn error(&self) -> &E {
        &self.error
    }

    /// The error of the last attempt, by value.
    #[must_use]
    pub fn into_error(self) -> E {
        self.error
    }

    /// How many attempts were made, the first call included.
    #[must_use]
    pub const fn attempts(&self) -> u32 {
        self.attempts
    }

    /// Why retrying stopped.
    #[must_use]
    pub const fn reason(&self) -> GiveUpReason {
        self.reason
    }

    /// The last error, the attempt count and the reason.
    #[must_use]
    pub fn into_parts(self) -> (E, u32, GiveUpReason) {
        (self.error, self.attempts, self.reason)
    }
}

impl<E: fmt::Debug> fmt::Debug for RetryError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RetryError")
            .field("error", &self.error)
            .field("attempts", &self.attempts)
            .field("reason", &self.reason)
            .finish()
    }
}

impl<E: fmt::Display> fmt::Display for RetryError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let plural = if self.attempts == 1 { "" } else { "s" };
        write!(
            f,
            "{} (gave up after {} attempt{plural}: {})",
            self.error, self.attempts, self.reason
        )
    }
}

impl<E: core::error::Error> core::error::Error for RetryError<E> {
    fn source(&self) -> Option<&(dyn core::error::Error + 'static)> {
        self.error.source()
    }
}

/// A [`RetryPolicy`](super::RetryPolicy) or [`RetryBudget`](super::RetryBudget) setting that
/// cannot work, named by the builder method that set it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PolicyError {
    /// `max_attempts` is zero: at least the first call must be allowed.
    MaxAttempts,
    /// `max_delay` is below the backoff's base (first) delay.
    MaxDelay,
    /// The exponential backoff's `factor` is below 1 or not a finite number.
    Factor,
    /// A user-supplied backoff `sequence` is empty.
    Sequence,
    /// The `jitter` is out of range (a decorrelated jitter multiplier of zero).
    Jitter,
    /// Jitter needs a random source and none was given: set a `seed` or an `entropy` source
    /// (with the `std` feature a default exists).
    Seed,
    /// A retry budget's `window` is zero.
    Window,
}

impl PolicyError {
    /// The name of the offending setting, as the builder method that sets it is called.
    #[must_use]
    pub const fn field(&self) -> &'static str {
        match self {
            PolicyError::MaxAttempts => "max_attempts",
            PolicyError::MaxDelay => "max_delay",
            PolicyError::Factor => "factor",
            PolicyError::Sequence => "sequence",
            PolicyError::Jitter => "jitter",
            PolicyError::Seed => "seed",
            PolicyError::Window => "window",
        }
    }
}

impl fmt::Display for PolicyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let why = match self {
            PolicyError::MaxAttempts => "must be at least 1 (the first call is attempt 1)",
            PolicyError::MaxDelay => "must be at least the backoff's base delay",
            PolicyError::Factor => "must be a finite number of at least 1",
            PolicyError::Sequence => "must hold at least one delay",
            PolicyError::Jitter => "is out of range: a decorrelated multiplier must be at least 1",
            PolicyError::Seed => {
                "is missing: jitter needs a seed or an entropy source without the `std` feature"
            }
            PolicyError::Window => "must be longer than zero",
        };
        write!(f, "invalid retry setting `{}`: {why}", self.field())
    }
}

impl core::error::Error for PolicyError {}
