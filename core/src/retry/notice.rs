//! What the notify hook is told, and the hooks' defaults.

use core::time::Duration;

/// How an attempt that is about to be retried ended.
#[derive(Debug)]
pub(crate) enum Outcome<'a, V, E> {
    Value(&'a V),
    Error(&'a E),
    /// The attempt timeout it ran out of.
    TimedOut(Duration),
}

impl<V, E> Clone for Outcome<'_, V, E> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<V, E> Copy for Outcome<'_, V, E> {}

/// What the notify hook ([`Retry::notify`](super::Retry::notify)) is told before each sleep:
/// which attempt ended, how, and how long the sleep before the next one is.
#[derive(Debug)]
pub struct Notice<'a, V, E> {
    pub(crate) attempt: u32,
    pub(crate) outcome: Outcome<'a, V, E>,
    /// In nanoseconds.
    pub(crate) delay: u64,
}

impl<'a, V, E> Notice<'a, V, E> {
    /// The attempt that just ended (the first call is attempt 1); the next is `attempt + 1`.
    #[must_use]
    pub fn attempt(&self) -> u32 {
        self.attempt
    }

    /// The error, if the attempt failed with one.
    #[must_use]
    pub fn error(&self) -> Option<&'a E> {
        match self.outcome {
            Outcome::Error(error) => Some(error),
            _ => None,
        }
    }

    /// The value, if the attempt succeeded with a value the value predicate asked to retry.
    #[must_use]
    pub fn value(&self) -> Option<&'a V> {
        match self.outcome {
            Outcome::Value(value) => Some(value),
            _ => None,
        }
    }

    /// The [`attempt_timeout`](super::RetryPolicyBuilder::attempt_timeout) the attempt ran
    /// out of, if it did.
    #[must_use]
    pub fn timeout(&self) -> Option<Duration> {
        match self.outcome {
            Outcome::TimedOut(limit) => Some(limit),
            _ => None,
        }
    }

    /// The sleep about to start, jitter or Retry-After included.
    #[must_use]
    pub fn delay(&self) -> Duration {
        Duration::from_nanos(self.delay)
    }
}
