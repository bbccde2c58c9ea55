//! The hedging policy: how many attempts, when each hedge starts, how long hedges may start.

use core::fmt;
use core::time::Duration;

use super::future::Hedge;
use crate::ConfigError;
use crate::retry::MakeAttempt;
use crate::time::duration_to_nanos;
use crate::{Instant, Timer};

/// The most attempts a hedged call may have in flight, the first included (gRPC's cap).
pub(crate) const MAX_ATTEMPTS: u32 = 5;

/// When the next hedge starts, counted from the start of the attempt before it.
#[derive(Clone, Copy)]
pub(crate) enum Delay {
    /// The same delay, in nanoseconds, before every hedge.
    Fixed(u64),
    /// `f(n)`: the delay between the start of attempt `n` and that of attempt `n + 1`.
    PerAttempt(fn(u32) -> Duration),
}

impl Delay {
    /// The delay in nanoseconds between the start of attempt `n` and that of attempt `n + 1`.
    pub(crate) fn after(self, n: u32) -> u64 {
        match self {
            Delay::Fixed(nanos) => nanos,
            Delay::PerAttempt(f) => duration_to_nanos(f(n)),
        }
    }
}

impl fmt::Debug for Delay {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Delay::Fixed(nanos) => fmt::Debug::fmt(&Duration::from_nanos(*nanos), f),
            Delay::PerAttempt(_) => f.write_str("per attempt"),
        }
    }
}

/// A hedging policy: how many attempts a call may run at once, the delay before each hedge,
/// and how long hedges may start. Built once with [`HedgePolicy::builder`], checked, shared
/// (it is `Copy`, and [`build_const`](HedgePolicyBuilder::build_const) makes a `static`);
/// each call makes a [`Hedge`] future with [`run`](HedgePolicy::run).
///
/// Which errors are fatal, a shared [`RetryBudget`](crate::retry::RetryBudget) and a per-call
/// deadline depend on the call and are set on the [`Hedge`] future.
///
/// ```
/// use core::time::Duration;
/// use steadfast::hedge::HedgePolicy;
///
/// static POLICY: HedgePolicy = HedgePolicy::builder()
///     .max_attempts(3)
///     .delay(Duration::from_millis(50))
///     .build_const();
/// assert_eq!(POLICY.max_attempts(), 3);
///
/// let err = HedgePolicy::builder().max_attempts(6).build().unwrap_err();
/// assert_eq!(err.field(), "max_attempts");
/// assert_eq!(err.to_string(), "invalid hedge setting `max_attempts`: must be at most 5");
/// ```
#[derive(Clone, Copy, Debug)]
pub struct HedgePolicy {
    pub(crate) max_attempts: u32,
    pub(crate) delay: Delay,
    pub(crate) max_elapsed: Option<Duration>,
}

impl HedgePolicy {
    /// A builder with these defaults: 2 attempts (the first and one hedge), a hedge 2 s after
    /// the first attempt started (Polly's default delay), no deadline.
    pub const fn builder() -> HedgePolicyBuilder {
        HedgePolicyBuilder {
            max_attempts: 2,
            delay: Delay::Fixed(2_000_000_000),
            max_elapsed: None,
        }
    }

    /// The most attempts a call runs, the first included.
    #[must_use]
    pub const fn max_attempts(&self) -> u32 {
        self.max_attempts
    }

    /// The delay between the start of attempt `n` (from 1) and the start of the hedge after
    /// it, when no failure starts that hedge sooner. [`Duration::MAX`] means never: that
    /// hedge starts only on a non-fatal failure.
    #[must_use]
    pub fn delay_after(&self, n: u32) -> Duration {
        match self.delay {
            Delay::Fixed(nanos) if nanos == u64::MAX => Duration::MAX,
            Delay::Fixed(nanos) => Duration::from_nanos(nanos),
            Delay::PerAttempt(f) => f(n),
        }
    }

    /// The time within which hedges may start, counted from the first poll of a [`Hedge`].
    #[must_use]
    pub const fn max_elapsed(&self) -> Option<Duration> {
        self.max_elapsed
    }

    /// A [`Hedge`] future: the call made with `make` under this policy, sleeping on `timer`.
    /// The policy is copied into the future (it is a few words), so the future borrows
    /// nothing but what `make` and `timer` do. Nothing runs until it is polled.
    pub fn run<M: MakeAttempt, T: Timer>(&self, timer: &T, make: M) -> Hedge<M, T> {
        Hedge::new(*self, timer.clone(), make)
    }
}

impl Default for HedgePolicy {
    /// The builder's defaults: see [`HedgePolicy::builder`].
    fn default() -> Self {
        HedgePolicy::builder().build_const()
    }
}

/// Builds a [`HedgePolicy`]: [`build`](Self::build) checks the settings,
/// [`build_const`](Self::build_const) builds a `static` one. Every method is `const`.
#[derive(Clone, Copy, Debug)]
#[must_use = "a builder does nothing until `build` is called"]
pub struct HedgePolicyBuilder {
    max_attempts: u32,
    delay: Delay,
    max_elapsed: Option<Duration>,
}

impl HedgePolicyBuilder {
    /// The most attempts a call runs, **the first included**, 1 to 5 (gRPC's cap): `1` means
    /// no hedge, `3` the first attempt and up to two hedges. All of them may be in flight at
    /// once.
    pub const fn max_attempts(self, attempts: u32) -> Self {
        HedgePolicyBuilder {
            max_attempts: attempts,
            ..self
        }
    }

    /// The delay before each hedge, counted from the start of the attempt before it (2 s by
    /// default). [`Duration::ZERO`] starts every attempt at once (gRPC's parallel mode);
    /// [`Duration::MAX`] starts a hedge only when an attempt fails with a non-fatal error
    /// (Polly's fallback mode). A non-fatal failure always starts the next hedge at once,
    /// whatever the delay; the hedges after it are again `delay` apart.
    pub const fn delay(self, delay: Duration) -> Self {
        HedgePolicyBuilder {
            delay: Delay::Fixed(duration_to_nanos(delay)),
            ..self
        }
    }

    /// The delay before each hedge from a function: `delay(n)` is the time between the start
    /// of attempt `n` (from 1) and the start of attempt `n + 1`, with the meaning of
    /// [`delay`](Self::delay)'s values (`ZERO`: at once; `MAX`: only on a failure). Replaces
    /// a fixed delay.
    pub const fn delay_fn(self, delay: fn(u32) -> Duration) -> Self {
        HedgePolicyBuilder {
            delay: Delay::PerAttempt(delay),
            ..self
        }
    }

    /// The time within which hedges may start, counted from the first poll of the [`Hedge`]
    /// (no deadline by default). Stop-before-deadline, as retry's: a hedge may start at
    /// `start + max_elapsed` but never after it. Running attempts are not cut short: wrap the
    /// call in [`timeout`](crate::timeout::timeout) for a hard bound.
    pub const fn max_elapsed(self, max_elapsed: Duration) -> Self {
        HedgePolicyBuilder {
            max_elapsed: Some(max_elapsed),
            ..self
        }
    }

    /// Checks the settings and builds the policy.
    ///
    /// # Errors
    ///
    /// A [`ConfigError`] for the field `max_attempts` when it is 0 or more than 5.
    pub const fn build(self) -> Result<HedgePolicy, ConfigError> {
        if self.max_attempts == 0 {
            return Err(invalid("max_attempts", "must be at least 1"));
        }
        if self.max_attempts > MAX_ATTEMPTS {
            return Err(invalid("max_attempts", "must be at most 5"));
        }
        Ok(HedgePolicy {
            max_attempts: self.max_attempts,
            delay: self.delay,
            max_elapsed: self.max_elapsed,
        })
    }

    /// Builds the policy in a `const` or `static`.
    ///
    /// # Panics
    ///
    /// On a setting [`build`](Self::build) refuses, with its message; in a `static` or
    /// `const`, that is a compile error.
    pub const fn build_const(self) -> HedgePolicy {
        match self.build() {
            Ok(policy) => policy,
            Err(err) => panic!("{}", err.problem()),
        }
    }
}

const fn invalid(field: &'static str, problem: &'static str) -> ConfigError {
    ConfigError::new("hedge", field, problem)
}

/// The first instant past `start` by `nanos`, saturating ([`Instant::MAX`]: never).
pub(crate) const fn after(start: Instant, nanos: u64) -> Instant {
    Instant::from_nanos(start.as_nanos().saturating_add(nanos))
}
