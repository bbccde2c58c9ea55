#[cfg(feature = "alloc")]
use core::fmt;

#[cfg(feature = "alloc")]
use crate::JoinError;

pub use crate::ConfigError;

/// A pool setting that cannot work: `field` is `"workers"` or `"capacity"`.
#[cfg_attr(not(feature = "alloc"), allow(dead_code))]
pub(super) const fn invalid(field: &'static str, problem: &'static str) -> ConfigError {
    ConfigError::new("pool", field, problem)
}

/// Why a submitted item produced no output. Reported for that item only; the pool goes on.
#[cfg(feature = "alloc")]
#[non_exhaustive]
pub enum WorkError {
    /// The work panicked. The [`JoinError`] carries the panic payload and message.
    Panicked(JoinError),
    /// The item did not run to completion and produced no output: it was handed back by
    /// [`WorkerPool::shutdown`](super::WorkerPool::shutdown), or the pool's tasks were
    /// cancelled (for instance, the runtime shut down).
    Cancelled,
}

#[cfg(feature = "alloc")]
impl WorkError {
    /// Whether the work panicked.
    #[must_use]
    pub fn is_panic(&self) -> bool {
        matches!(self, WorkError::Panicked(_))
    }

    /// Whether the item never finished running for a reason other than a panic.
    #[must_use]
    pub fn is_cancelled(&self) -> bool {
        matches!(self, WorkError::Cancelled)
    }

    /// The panic message, when the work panicked with a string.
    #[must_use]
    pub fn panic_message(&self) -> Option<alloc::borrow::Cow<'_, str>> {
        match self {
            WorkError::Panicked(e) => e.panic_message(),
            WorkError::Cancelled => None,
        }
    }
}

#[cfg(feature = "alloc")]
impl From<JoinError> for WorkError {
    fn from(e: JoinError) -> Self {
        if e.is_panic() {
            WorkError::Panicked(e)
        } else {
            WorkError::Cancelled
        }
    }
}

#[cfg(feature = "alloc")]
impl fmt::Debug for WorkError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WorkError::Panicked(e) => f.debug_tuple("Panicked").field(e).finish(),
            WorkError::Cancelled => f.write_str("Cancelled"),
        }
    }
}

#[cfg(feature = "alloc")]
impl fmt::Display for WorkError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WorkError::Panicked(e) => match e.panic_message() {
                Some(m) => write!(f, "pool work panicked: {m}"),
                None => f.write_str("pool work panicked"),
            },
            WorkError::Cancelled => f.write_str("pool work was cancelled before it finished"),
        }
    }
}

#[cfg(feature = "alloc")]
impl core::error::Error for WorkError {}
