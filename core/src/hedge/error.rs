//! What a hedged call gives back when every attempt failed, or one failed fatally.

use core::fmt;

use crate::retry::GiveUpReason;

/// What the caller of a [`Hedge`](super::Hedge) gets when no attempt succeeded: the last
/// error, how many attempts were started, and why no further one was.
///
/// The [`reason`](HedgeError::reason):
///
/// - a fatal error, [`GiveUpReason::Permanent`]: an attempt failed with an error the
///   classifier calls fatal (see [`Hedge::when`](super::Hedge::when)); the others were
///   cancelled, and [`error`](HedgeError::error) is the fatal one;
/// - attempts exhausted, [`GiveUpReason::AttemptsExhausted`]: all
///   [`max_attempts`](super::HedgePolicyBuilder::max_attempts) attempts ran and failed; the
///   error is the one that came last;
/// - the budget, [`GiveUpReason::Budget`]: the [`RetryBudget`](crate::retry::RetryBudget)
///   refused a hedge, and the attempts that had started failed;
/// - the deadline, [`GiveUpReason::Deadline`]: the next hedge would have started past the
///   deadline (by the delay, or by a delay an error suggested), and the attempts that had
///   started failed; or the deadline had passed at the
///   first poll, and no attempt was made ([`attempts`](HedgeError::attempts) 0, no error).
///
/// [`attempts`](HedgeError::attempts) counts every attempt started, the first included, the
/// cancelled ones too. Only the last error is kept (the earlier ones are dropped as each new
/// one arrives): it is the freshest word from the dependency, and keeping one costs no
/// space per attempt.
///
/// It is a [`core::error::Error`] whenever the operation's error is one (and `'static`), with
/// that error as its [`source`](core::error::Error::source) and its text not repeated in
/// `Display`: `?` turns it into `anyhow::Error` or `Box<dyn Error + Send + Sync>`. For
/// operation errors that are not [`core::error::Error`] themselves, such as `anyhow::Error`,
/// take the error out with [`into_error`](HedgeError::into_error). `Send` and `Sync` when the
/// error is.
///
/// ```
/// # #[cfg(feature = "std")] {
/// use std::io;
/// use steadfast::hedge::HedgePolicy;
/// use steadfast::retry::GiveUpReason;
/// use steadfast::VirtualTimer;
///
/// let policy = HedgePolicy::builder().max_attempts(3).build().unwrap();
/// let timer = VirtualTimer::new();
/// let call = || async { Err::<(), _>(io::Error::other("connection reset")) };
/// let err = futures_executor::block_on(timer.auto_advance(policy.run(&timer, call)))
///     .unwrap_err();
/// assert_eq!((err.attempts(), err.reason()), (3, GiveUpReason::AttemptsExhausted));
/// assert_eq!(err.to_string(), "hedged call failed after 3 attempts: attempts exhausted");
/// let boxed: Box<dyn std::error::Error + Send + Sync> = err.into();
/// assert_eq!(boxed.source().unwrap().to_string(), "connection reset");
/// # }
/// ```
#[derive(Clone, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct HedgeError<E> {
    error: Option<E>,
    attempts: u32,
    reason: GiveUpReason,
}

impl<E> HedgeError<E> {
    pub(crate) const fn new(error: Option<E>, attempts: u32, reason: GiveUpReason) -> Self {
        HedgeError {
            error,
            attempts,
            reason,
        }
    }

    /// The last error (the fatal one when an error was fatal); `None` when no attempt was
    /// made.
    #[must_use]
    pub const fn error(&self) -> Option<&E> {
        self.error.as_ref()
    }

    /// The last error, by value; `None` when no attempt was made.
    #[must_use]
    pub fn into_error(self) -> Option<E> {
        self.error
    }

    /// How many attempts were started, the first included and the cancelled ones too (0 when
    /// the deadline had passed at the first poll).
    #[must_use]
    pub const fn attempts(&self) -> u32 {
        self.attempts
    }

    /// Why no further attempt was started.
    #[must_use]
    pub const fn reason(&self) -> GiveUpReason {
        self.reason
    }

    /// Whether an attempt failed with a fatal error, which cancelled the others.
    #[must_use]
    pub const fn is_fatal(&self) -> bool {
        matches!(self.reason, GiveUpReason::Permanent)
    }
}

impl<E: fmt::Debug> fmt::Debug for HedgeError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HedgeError")
            .field("error", &self.error)
            .field("attempts", &self.attempts)
            .field("reason", &self.reason)
            .finish()
    }
}

impl<E> fmt::Display for HedgeError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.attempts {
            0 => write!(f, "hedged call made no attempt: {}", self.reason),
            n => {
                let plural = if n == 1 { "" } else { "s" };
                write!(f, "hedged call failed after {n} attempt{plural}: ")?;
                match self.reason {
                    GiveUpReason::Permanent => f.write_str("fatal error"),
                    reason => fmt::Display::fmt(&reason, f),
                }
            }
        }
    }
}

impl<E: core::error::Error + 'static> core::error::Error for HedgeError<E> {
    fn source(&self) -> Option<&(dyn core::error::Error + 'static)> {
        self.error
            .as_ref()
            .map(|e| e as &(dyn core::error::Error + 'static))
    }
}
