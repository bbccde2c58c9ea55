//! The retry policy: how many attempts, which delays, how long in all.

use core::fmt;
use core::marker::PhantomData;
use core::time::Duration;

use super::backoff::{Backoff, Delays, factor_fixed};
use super::error::PolicyError;
use super::jitter::{Jitter, Rng};
use crate::Instant;
use crate::time::duration_to_nanos;
use crate::timeout::Elapsed;

/// Marker: the policy has no per-attempt timeout (the default).
#[derive(Clone, Copy, Debug)]
pub enum NoAttemptTimeout {}

/// Marker: the policy bounds each attempt by a timeout; the operation's error type must
/// implement `From<`[`Elapsed`]`>` so a timed-out attempt becomes an ordinary error.
#[derive(Clone, Copy, Debug)]
pub enum WithAttemptTimeout {}

/// How an attempt that ran out of time becomes the operation's error `E`: implemented by
/// [`NoAttemptTimeout`] for every `E` (no attempt ever times out) and by
/// [`WithAttemptTimeout`] for every `E: From<Elapsed>`.
pub trait AttemptTimeoutMode<E> {
    /// Turns the timeout of an attempt into the operation's error.
    fn timed_out(elapsed: Elapsed) -> E;
}

impl<E> AttemptTimeoutMode<E> for NoAttemptTimeout {
    fn timed_out(_: Elapsed) -> E {
        // A policy of this mode has no per-attempt timeout: its attempts never time out.
        unreachable!("an attempt timed out under a policy without attempt timeout")
    }
}

impl<E: From<Elapsed>> AttemptTimeoutMode<E> for WithAttemptTimeout {
    fn timed_out(elapsed: Elapsed) -> E {
        E::from(elapsed)
    }
}

/// Where the jitter's random numbers come from.
#[derive(Clone, Copy, Debug)]
pub(crate) enum SeedSource {
    /// None given: fine without jitter; with jitter, the `std` default or a build error.
    Unset,
    Fixed(u64),
    Entropy(fn() -> u64),
}

impl SeedSource {
    /// The seed for one retry run whose first retry happens at `now`.
    pub(crate) fn seed(self, now: Instant) -> u64 {
        match self {
            SeedSource::Fixed(seed) => seed ^ Rng::new(now.as_nanos()).next_u64(),
            SeedSource::Entropy(f) => f(),
            SeedSource::Unset => default_entropy(now),
        }
    }
}

#[cfg(feature = "std")]
fn default_entropy(now: Instant) -> u64 {
    use std::hash::{BuildHasher, RandomState};
    // Each `RandomState` has fresh keys: random per process, and different for every call.
    RandomState::new().hash_one(now.as_nanos())
}

#[cfg(not(feature = "std"))]
fn default_entropy(now: Instant) -> u64 {
    // Unreachable in practice: building a jittered policy without a seed fails without `std`.
    Rng::new(now.as_nanos()).next_u64()
}

/// A retry policy: how many attempts, which delays between them, and how long in all. Built
/// once with [`RetryPolicy::builder`], then shared by reference or copied (it is `Copy`)
/// across call sites; every [`Retry`](super::Retry) keeps its own state.
///
/// What to retry (predicates), Retry-After hints, the notify hook and a retry budget depend on
/// the operation's types and are set on the [`Retry`](super::Retry) future of each call.
///
/// `A` records whether attempts have a timeout: [`NoAttemptTimeout`] or
/// [`WithAttemptTimeout`] (set by [`attempt_timeout`](RetryPolicyBuilder::attempt_timeout)).
///
/// A policy can be built in a `const` for a `static`:
///
/// ```
/// use core::time::Duration;
/// use steadfast::retry::RetryPolicy;
///
/// static POLICY: RetryPolicy = match RetryPolicy::builder()
///     .max_attempts(5)
///     .exponential(Duration::from_millis(50), 2.0)
///     .max_delay(Duration::from_secs(2))
///     .build()
/// {
///     Ok(policy) => policy,
///     Err(_) => panic!("invalid retry policy"),
/// };
/// assert_eq!(POLICY.max_attempts(), 5);
/// ```
pub struct RetryPolicy<A = NoAttemptTimeout> {
    pub(crate) max_attempts: u32,
    pub(crate) backoff: Backoff,
    pub(crate) factor_fx: u64,
    pub(crate) max_delay: u64,
    pub(crate) jitter: Jitter,
    pub(crate) max_elapsed: Option<Duration>,
    pub(crate) attempt_timeout: Option<Duration>,
    pub(crate) seed: SeedSource,
    mode: PhantomData<fn() -> A>,
}

impl<A> Clone for RetryPolicy<A> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<A> Copy for RetryPolicy<A> {}

impl<A> fmt::Debug for RetryPolicy<A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RetryPolicy")
            .field("max_attempts", &self.max_attempts)
            .field("backoff", &self.backoff)
            .field("max_delay", &self.max_delay())
            .field("jitter", &self.jitter)
            .field("max_elapsed", &self.max_elapsed)
            .field("attempt_timeout", &self.attempt_timeout)
            .finish_non_exhaustive()
    }
}

impl Default for RetryPolicy {
    /// The builder's defaults: see [`RetryPolicy::builder`].
    fn default() -> Self {
        match RetryPolicy::builder().build() {
            Ok(policy) => policy,
            Err(_) => unreachable!("the default settings are valid"),
        }
    }
}

impl RetryPolicy {
    /// A builder with these defaults: 3 attempts (the first call and two retries), exponential
    /// backoff from 100 ms with factor 2, no `max_delay` cap, no jitter, no deadline, no
    /// per-attempt timeout.
    pub const fn builder() -> RetryPolicyBuilder {
        RetryPolicyBuilder {
            max_attempts: 3,
            backoff: Backoff::Exponential {
                base: Duration::from_millis(100),
                factor: 2.0,
            },
            max_delay: None,
            jitter: Jitter::None,
            max_elapsed: None,
            attempt_timeout: None,
            seed: SeedSource::Unset,
            mode: PhantomData,
        }
    }
}

impl<A> RetryPolicy<A> {
    /// The most attempts a call makes, the first call included.
    #[must_use]
    pub const fn max_attempts(&self) -> u32 {
        self.max_attempts
    }

    /// The backoff shape.
    #[must_use]
    pub const fn backoff(&self) -> Backoff {
        self.backoff
    }

    /// The cap on every delay ([`Duration::MAX`]-like when none was set: about 584 years).
    #[must_use]
    pub const fn max_delay(&self) -> Duration {
        Duration::from_nanos(self.max_delay)
    }

    /// The jitter.
    #[must_use]
    pub const fn jitter(&self) -> Jitter {
        self.jitter
    }

    /// The total time allowed, counted from the first poll of a [`Retry`](super::Retry).
    #[must_use]
    pub const fn max_elapsed(&self) -> Option<Duration> {
        self.max_elapsed
    }

    /// The timeout of each attempt.
    #[must_use]
    pub const fn attempt_timeout(&self) -> Option<Duration> {
        self.attempt_timeout
    }

    /// The delays this policy sleeps before retry 1, 2, 3, …, with its jitter drawn from a
    /// source seeded with `seed` (the policy's own seed setting is not used).
    #[must_use]
    pub fn delays(&self, seed: u64) -> Delays {
        Delays::new(
            self.backoff,
            self.factor_fx,
            self.max_delay,
            self.jitter,
            Rng::new(seed),
        )
    }

    /// The delays for one retry run whose first retry happens at `now`, seeded from the
    /// policy's seed setting.
    pub(crate) fn run_delays(&self, now: Instant) -> Delays {
        let seed = if self.jitter.is_random() {
            self.seed.seed(now)
        } else {
            0
        };
        self.delays(seed)
    }
}

/// Builds a [`RetryPolicy`]; [`build`](RetryPolicyBuilder::build) checks the settings. Every
/// method is `const`.
#[must_use = "a builder does nothing until `build` is called"]
pub struct RetryPolicyBuilder<A = NoAttemptTimeout> {
    max_attempts: u32,
    backoff: Backoff,
    max_delay: Option<Duration>,
    jitter: Jitter,
    max_elapsed: Option<Duration>,
    attempt_timeout: Option<Duration>,
    seed: SeedSource,
    mode: PhantomData<fn() -> A>,
}

impl<A> fmt::Debug for RetryPolicyBuilder<A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RetryPolicyBuilder")
            .field("max_attempts", &self.max_attempts)
            .field("backoff", &self.backoff)
            .field("max_delay", &self.max_delay)
            .field("jitter", &self.jitter)
            .field("max_elapsed", &self.max_elapsed)
            .field("attempt_timeout", &self.attempt_timeout)
            .finish_non_exhaustive()
    }
}

impl<A> RetryPolicyBuilder<A> {
    /// The most attempts a call makes, **the first call included** (attempt 1): `1` means no
    /// retry, `4` means up to three retries. Must be at least 1; `u32::MAX` is, in practice,
    /// unlimited (bound the retrying by [`max_elapsed`](Self::max_elapsed) then).
    pub const fn max_attempts(self, attempts: u32) -> Self {
        RetryPolicyBuilder {
            max_attempts: attempts,
            ..self
        }
    }

    /// The backoff shape (see [`Backoff`]).
    pub const fn backoff(self, backoff: Backoff) -> Self {
        RetryPolicyBuilder { backoff, ..self }
    }

    /// [`Backoff::Constant`]: `delay` before every retry.
    pub const fn constant(self, delay: Duration) -> Self {
        self.backoff(Backoff::Constant(delay))
    }

    /// [`Backoff::Linear`]: `base + step·(n − 1)` before retry `n`.
    pub const fn linear(self, base: Duration, step: Duration) -> Self {
        self.backoff(Backoff::Linear { base, step })
    }

    /// [`Backoff::Exponential`]: `base·factorⁿ⁻¹` before retry `n`; `factor` must be finite
    /// and at least 1.
    pub const fn exponential(self, base: Duration, factor: f64) -> Self {
        self.backoff(Backoff::Exponential { base, factor })
    }

    /// [`Backoff::Sequence`]: the delays given, the last one repeating.
    pub const fn sequence(self, delays: &'static [Duration]) -> Self {
        self.backoff(Backoff::Sequence(delays))
    }

    /// The cap on every delay, jittered or not; at least the backoff's base delay. Delays
    /// suggested by errors (Retry-After) are not capped by it, only by the deadline.
    pub const fn max_delay(self, max_delay: Duration) -> Self {
        RetryPolicyBuilder {
            max_delay: Some(max_delay),
            ..self
        }
    }

    /// The jitter (see [`Jitter`] for the formulas). Random jitter needs a random source: a
    /// [`seed`](Self::seed) or an [`entropy`](Self::entropy) source, or the `std` feature.
    pub const fn jitter(self, jitter: Jitter) -> Self {
        RetryPolicyBuilder { jitter, ..self }
    }

    /// The total time a call may take, counted from the first poll of its
    /// [`Retry`](super::Retry). Stop-before-deadline: no sleep is started that would end past
    /// `start + max_elapsed`; an attempt may start at that instant but never after it. A
    /// running attempt is not interrupted (bound it with
    /// [`attempt_timeout`](Self::attempt_timeout), or wrap the whole call in
    /// [`timeout`](crate::timeout::timeout)).
    pub const fn max_elapsed(self, max_elapsed: Duration) -> Self {
        RetryPolicyBuilder {
            max_elapsed: Some(max_elapsed),
            ..self
        }
    }

    /// Seeds the jitter. The delays of one call then depend on `seed` and on the instant of its
    /// first retry: reproducible on a virtual clock, different between calls on a real one.
    /// Give each device its own seed (a serial number, a hardware random number): two devices
    /// with one seed whose clocks agree would retry in step.
    pub const fn seed(self, seed: u64) -> Self {
        RetryPolicyBuilder {
            seed: SeedSource::Fixed(seed),
            ..self
        }
    }

    /// Takes the jitter's seed from `entropy`, called once per call, at its first retry (a
    /// hardware random number generator, say).
    pub const fn entropy(self, entropy: fn() -> u64) -> Self {
        RetryPolicyBuilder {
            seed: SeedSource::Entropy(entropy),
            ..self
        }
    }

    /// Bounds each attempt by `timeout`, counted from the attempt's first poll (see
    /// [`crate::timeout`]). An attempt that runs out of time is dropped and becomes the error
    /// `E::from(`[`Elapsed`]`)`: the error predicate sees it like any other error, and the
    /// [`RetryError`](super::RetryError) carries it when it was the last. Hence the operation's
    /// error type must implement `From<Elapsed>`.
    pub const fn attempt_timeout(
        self,
        timeout: Duration,
    ) -> RetryPolicyBuilder<WithAttemptTimeout> {
        RetryPolicyBuilder {
            max_attempts: self.max_attempts,
            backoff: self.backoff,
            max_delay: self.max_delay,
            jitter: self.jitter,
            max_elapsed: self.max_elapsed,
            attempt_timeout: Some(timeout),
            seed: self.seed,
            mode: PhantomData,
        }
    }

    /// Checks the settings and builds the policy.
    ///
    /// # Errors
    ///
    /// A [`PolicyError`] naming the first impossible setting: zero `max_attempts`, a
    /// `max_delay` below the base delay, an exponential `factor` below 1 or not finite, an
    /// empty `sequence`, a decorrelated `jitter` multiplier of zero, or random jitter with no
    /// `seed` (without the `std` feature).
    pub const fn build(self) -> Result<RetryPolicy<A>, PolicyError> {
        if self.max_attempts == 0 {
            return Err(PolicyError::MaxAttempts);
        }
        let factor_fx = match self.backoff {
            Backoff::Exponential { factor, .. } => match factor_fixed(factor) {
                Some(fx) => fx,
                None => return Err(PolicyError::Factor),
            },
            _ => 1 << 32,
        };
        if let Backoff::Sequence(s) = self.backoff {
            if s.is_empty() {
                return Err(PolicyError::Sequence);
            }
        }
        let max_delay = match self.max_delay {
            Some(d) => duration_to_nanos(d),
            None => u64::MAX,
        };
        if let Some(base) = self.backoff.base() {
            if duration_to_nanos(base) > max_delay {
                return Err(PolicyError::MaxDelay);
            }
        }
        if let Jitter::Decorrelated { multiplier: 0 } = self.jitter {
            return Err(PolicyError::Jitter);
        }
        if self.jitter.is_random()
            && matches!(self.seed, SeedSource::Unset)
            && !cfg!(feature = "std")
        {
            return Err(PolicyError::Seed);
        }
        Ok(RetryPolicy {
            max_attempts: self.max_attempts,
            backoff: self.backoff,
            factor_fx,
            max_delay,
            jitter: self.jitter,
            max_elapsed: self.max_elapsed,
            attempt_timeout: self.attempt_timeout,
            seed: self.seed,
            mode: PhantomData,
        })
    }
}
