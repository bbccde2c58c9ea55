//! The limiter's settings and their builder.

use core::time::Duration;

use super::RateLimiter;
use super::gcra::Params;
use crate::ConfigError;
use crate::time::duration_to_nanos;

/// Settings for a [`RateLimiter`], from [`RateLimiter::builder`].
#[derive(Clone, Copy, Debug)]
#[must_use = "a builder does nothing until `build` is called"]
pub struct RateLimiterBuilder {
    rate: u32,
    per: Duration,
    burst: Option<u32>,
    max_waiters: u32,
}

impl RateLimiterBuilder {
    pub(super) const fn new(rate: u32, per: Duration) -> Self {
        RateLimiterBuilder {
            rate,
            per,
            burst: None,
            max_waiters: u32::MAX,
        }
    }

    /// The most cells granted at once, and held by an idle limiter (at least 1). The default
    /// is the rate: a limiter of 10 per second lets 10 calls through at once after a pause.
    pub const fn burst(mut self, burst: u32) -> Self {
        self.burst = Some(burst);
        self
    }

    /// The most callers waiting at once in [`acquire`](RateLimiter::acquire) (at least 1);
    /// one more is refused at once with [`LimitError::QueueFull`](super::LimitError::QueueFull).
    /// The default is no practical cap (`u32::MAX`).
    pub const fn max_waiters(mut self, max: u32) -> Self {
        self.max_waiters = max;
        self
    }

    /// Checks the settings and builds the limiter.
    ///
    /// # Errors
    ///
    /// A [`ConfigError`] naming the first impossible setting: a zero rate, period, burst or
    /// waiter cap, a rate above one cell per nanosecond, or a burst whose tolerance overflows
    /// the clock.
    pub const fn build(self) -> Result<RateLimiter, ConfigError> {
        match self.params() {
            Ok(p) => Ok(RateLimiter::with_params(p)),
            Err(e) => Err(e),
        }
    }

    /// [`build`](Self::build) for a `const` or `static`: a bad setting fails const evaluation
    /// (a compile error); at run time it panics with the error's field.
    pub const fn build_const(self) -> RateLimiter {
        match self.params() {
            Ok(p) => RateLimiter::with_params(p),
            Err(e) => panic!("{}", e.field()),
        }
    }

    pub(super) const fn params(self) -> Result<Params, ConfigError> {
        if self.rate == 0 {
            return Err(invalid("rate", "must be at least 1"));
        }
        if self.per.is_zero() {
            return Err(invalid("per", "must be above zero"));
        }
        // The one division, at construction (in a `static`, at compile time).
        let t = duration_to_nanos(self.per) / self.rate as u64;
        if t == 0 {
            return Err(invalid(
                "rate",
                "must be at most one cell per nanosecond of the period",
            ));
        }
        let burst = match self.burst {
            Some(b) => b,
            None => self.rate,
        };
        if burst == 0 {
            return Err(invalid("burst", "must be at least 1"));
        }
        // `t * burst` must fit: the hot path multiplies `t` by a cost of at most `burst`.
        let tau = match t.checked_mul(burst as u64) {
            Some(full) => full - t,
            None => {
                return Err(invalid(
                    "burst",
                    "times the interval between cells overflows the clock",
                ));
            }
        };
        if self.max_waiters == 0 {
            return Err(invalid("max_waiters", "must be at least 1"));
        }
        Ok(Params {
            t,
            tau,
            burst,
            recip: u64::MAX / t,
            max_waiters: self.max_waiters,
        })
    }
}

const fn invalid(field: &'static str, reason: &'static str) -> ConfigError {
    ConfigError::new("rate limiter", field, reason)
}
