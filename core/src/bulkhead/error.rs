use core::fmt;

use crate::ConfigError;

/// Why a bulkhead turned a caller away. The caller's work was not started.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Rejected {
    /// Every permit was taken and the caller does not wait:
    /// [`try_acquire`](super::Bulkhead::try_acquire), or a bulkhead built with
    /// [`reject_when_full`](super::BulkheadBuilder::reject_when_full).
    Full,
    /// Every permit was taken and the wait queue held
    /// [`max_waiting`](super::BulkheadBuilder::max_waiting) callers already.
    QueueFull,
    /// The caller waited the time it was given
    /// ([`acquire_within`](super::Bulkhead::acquire_within) and the other `_within` forms)
    /// without getting a permit.
    WaitedTooLong,
    /// The bulkhead was [closed](super::Bulkhead::close).
    Closed,
}

impl Rejected {
    /// A short description, the one `Display` shows.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Rejected::Full => "bulkhead full",
            Rejected::QueueFull => "bulkhead wait queue full",
            Rejected::WaitedTooLong => "waited too long for a bulkhead permit",
            Rejected::Closed => "bulkhead closed",
        }
    }
}

impl fmt::Display for Rejected {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl core::error::Error for Rejected {}

/// The error of [`Bulkhead::call`](super::Bulkhead::call): the caller was turned away, or
/// the work ran and failed with its own error `E`. One error type for bulkheaded fallible
/// work, so `?` takes it in one step.
///
/// It is an [`Error`](core::error::Error) when `E` is one; [`source`](core::error::Error::source)
/// then gives the rejection or the work's error, and `Display` does not repeat the work's
/// error (anyhow's `{:#}` prints the chain). `From<Rejected>` lets code that returns
/// `BulkheadError<E>` use `?` on a bare rejection, such as that of
/// [`try_acquire`](super::Bulkhead::try_acquire).
///
/// For work whose error is `anyhow::Error` or `Box<dyn Error + Send + Sync>` (which are not
/// `Error` themselves), use [`run`](super::Bulkhead::run) and `?` twice: `.await??`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum BulkheadError<E> {
    /// The caller was turned away; the work was not started.
    Rejected(Rejected),
    /// The work ran, under a permit, and failed.
    Failed(E),
}

impl<E> BulkheadError<E> {
    /// The work's own error, if it ran and failed.
    pub fn into_error(self) -> Option<E> {
        match self {
            BulkheadError::Failed(e) => Some(e),
            BulkheadError::Rejected(_) => None,
        }
    }

    /// Why the caller was turned away, if it was.
    #[must_use]
    pub fn rejected(&self) -> Option<Rejected> {
        match self {
            BulkheadError::Rejected(why) => Some(*why),
            BulkheadError::Failed(_) => None,
        }
    }
}

impl<E> From<Rejected> for BulkheadError<E> {
    fn from(why: Rejected) -> Self {
        BulkheadError::Rejected(why)
    }
}

impl<E> fmt::Display for BulkheadError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BulkheadError::Rejected(why) => fmt::Display::fmt(why, f),
            BulkheadError::Failed(_) => f.write_str("bulkheaded work failed"),
        }
    }
}

impl<E: core::error::Error + 'static> core::error::Error for BulkheadError<E> {
    fn source(&self) -> Option<&(dyn core::error::Error + 'static)> {
        match self {
            BulkheadError::Rejected(_) => None,
            BulkheadError::Failed(e) => Some(e),
        }
    }
}

/// A bulkhead setting that cannot work: `field` is `"max_concurrent"` or `"max_waiting"`.
pub(super) const fn invalid(field: &'static str, problem: &'static str) -> ConfigError {
    ConfigError::new("bulkhead", field, problem)
}
