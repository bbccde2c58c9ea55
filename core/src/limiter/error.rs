//! Why the limiter refused cells.

use core::fmt;
use core::time::Duration;

use super::gcra::Refusal;
use crate::time::nanos_to_duration;

/// Cells the limiter did not grant.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum LimitError {
    /// Not now: the cells are not there yet, or others are waiting ahead (first come, first
    /// served), or, for a bounded wait, the predicted wait exceeds the bound. `retry_after` is
    /// the predicted wait.
    RateLimited {
        /// How long until the cells could be granted, as far as is known now.
        retry_after: Duration,
    },
    /// As many callers as the limiter lets wait are already waiting.
    QueueFull,
    /// More cells asked for at once than the burst: never granted.
    InsufficientCapacity {
        /// The cells asked for.
        requested: u32,
        /// The most cells granted at once.
        burst: u32,
    },
    /// A [`KeyedRateLimiter`](super::KeyedRateLimiter)'s key is new, its table is full, and
    /// no entry in it is fresh (each has a bucket not yet full again, or waiters): the key was
    /// turned away rather than another key's spending forgotten.
    TableFull,
}

impl LimitError {
    /// The predicted wait, for [`LimitError::RateLimited`] (to answer a 429's Retry-After, or
    /// to skip a retry that would not fit its deadline).
    #[must_use]
    pub const fn retry_after(&self) -> Option<Duration> {
        match self {
            LimitError::RateLimited { retry_after } => Some(*retry_after),
            _ => None,
        }
    }

    #[inline]
    pub(super) fn from_refusal(r: Refusal, requested: u32, burst: u32) -> Self {
        match r {
            Refusal::Wait(n) => LimitError::RateLimited {
                retry_after: nanos_to_duration(n),
            },
            Refusal::QueueFull => LimitError::QueueFull,
            Refusal::TooMany => LimitError::InsufficientCapacity { requested, burst },
        }
    }
}

impl fmt::Display for LimitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LimitError::RateLimited { retry_after } => {
                write!(f, "rate limited; retry after {retry_after:?}")
            }
            LimitError::QueueFull => f.write_str("too many callers waiting for the rate limiter"),
            LimitError::TableFull => {
                f.write_str("keyed rate limiter full: no entry can be evicted for a new key")
            }
            LimitError::InsufficientCapacity { requested, burst } => write!(
                f,
                "{requested} cells asked for at once, more than the burst of {burst}"
            ),
        }
    }
}

impl core::error::Error for LimitError {}
