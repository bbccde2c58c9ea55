//! The retry policy: how many attempts, which delays, how long in all.

use core::fmt;
use core::time::Duration;

use super::backoff::{Backoff, DelayState, Delays, factor_fixed};
use super::jitter::{Jitter, Rng};
use crate::loom::{AtomicU32, Ordering};
use crate::time::duration_to_nanos;
use crate::{ConfigError, Instant};

/// Where the jitter's random numbers come from.
#[derive(Clone, Copy, Debug)]
pub(crate) enum SeedSource {
    /// None given: the clock at the first retry, mixed with a process-wide count.
    Unset,
    Fixed(u64),
    Entropy(fn() -> u64),
}

/// Counts the runs that drew a seed without one given, so that runs starting their retries at
/// one instant still get different jitter.
static UNSEEDED_RUNS: AtomicU32 = AtomicU32::new(0);

impl SeedSource {
    /// The seed for one retry run whose first retry happens at `now`.
    pub(crate) fn seed(self, now: Instant) -> u64 {
        match self {
            SeedSource::Fixed(seed) => seed ^ Rng::new(now.as_nanos()).next_u64(),
            SeedSource::Entropy(f) => f(),
            SeedSource::Unset => {
                let run = UNSEEDED_RUNS.fetch_add(1, Ordering::Relaxed);
                let mixed = now.as_nanos() ^ u64::from(run).wrapping_mul(0xD1B5_4A32_D192_ED03);
                Rng::new(mixed).next_u64()
            }
        }
    }
}

/// A retry policy: how many attempts, which delays between them, how long each attempt and
/// the whole call may take. Built once with [`RetryPolicy::builder`], then shared: a
/// [`Retry`](super::Retry) takes it by reference (`&policy`, a `static`), by value, or through
/// an `Arc`; every call keeps its own state. One type whatever the settings.
///
/// What to retry (predicates), Retry-After hints, the notify hook and a retry budget depend on
/// the operation's types and are set on the [`Retry`](super::Retry) future of each call.
///
/// A policy can be built in a `static` ([`build_const`](RetryPolicyBuilder::build_const): a
/// bad setting is then a compile error):
///
/// ```
/// use core::time::Duration;
/// use steadfast::retry::RetryPolicy;
///
/// static POLICY: RetryPolicy = RetryPolicy::builder()
///     .max_attempts(5)
///     .exponential(Duration::from_millis(50), 2.0)
///     .max_delay(Duration::from_secs(2))
///     .build_const();
/// assert_eq!(POLICY.max_attempts(), 5);
/// ```
#[derive(Clone, Copy)]
pub struct RetryPolicy {
    pub(crate) max_attempts: u32,
    pub(crate) backoff: Backoff,
    pub(crate) factor_fx: u64,
    pub(crate) max_delay: u64,
    pub(crate) jitter: Jitter,
    pub(crate) max_elapsed: Option<Duration>,
    pub(crate) attempt_timeout: Option<Duration>,
    pub(crate) seed: SeedSource,
}

impl fmt::Debug for RetryPolicy {
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
        RetryPolicy::builder().build_const()
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
        }
    }
}

impl RetryPolicy {
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
        Delays::new(*self, seed)
    }

    /// The state of the delays of one retry run whose first retry happens at `now`, seeded
    /// from the policy's seed setting.
    pub(crate) fn run_delays(&self, now: Instant) -> DelayState {
        let seed = if self.jitter.is_random() {
            self.seed.seed(now)
        } else {
            0
        };
        DelayState::new(self, Rng::new(seed))
    }

    /// The jittered delay before retry `n` for a caller whose delay before retry `n − 1` was
    /// `prev` (nanoseconds), seeded from the policy's seed setting at `now`: the circuit
    /// breaker's open duration after its `n`th opening in a row.
    pub(crate) fn nth_delay(&self, n: u32, prev: u64, now: Instant) -> u64 {
        self.run_delays(now).delay_at(self, n, prev)
    }
}

/// Builds a [`RetryPolicy`]: [`build`](RetryPolicyBuilder::build) checks the settings,
/// [`build_const`](RetryPolicyBuilder::build_const) builds a `static` one. Every method is
/// `const`.
#[derive(Clone, Copy)]
#[must_use = "a builder does nothing until `build` is called"]
pub struct RetryPolicyBuilder {
    max_attempts: u32,
    backoff: Backoff,
    max_delay: Option<Duration>,
    jitter: Jitter,
    max_elapsed: Option<Duration>,
    attempt_timeout: Option<Duration>,
    seed: SeedSource,
}

impl fmt::Debug for RetryPolicyBuilder {
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

impl RetryPolicyBuilder {
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

    /// The jitter (see [`Jitter`] for the formulas). Its random numbers come from the
    /// [`seed`](Self::seed), the [`entropy`](Self::entropy) source, or, with neither, from the
    /// timer's clock at the first retry mixed with a process-wide count of such runs (see the
    /// [module docs](super#jitter-and-its-seed)).
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
    /// [`crate::timeout`]), whatever the operation's error type. An attempt that runs out of
    /// time is dropped and counts as a failed attempt that is always worth retrying: the error
    /// predicate is not asked (there is no error to ask about), the notify hook is told
    /// ([`Notice::timeout`](super::Notice::timeout)), and when it was the last attempt the
    /// [`RetryError`](super::RetryError) says so ([`RetryError::timeout`](super::RetryError::timeout)).
    pub const fn attempt_timeout(self, timeout: Duration) -> Self {
        RetryPolicyBuilder {
            attempt_timeout: Some(timeout),
            ..self
        }
    }

    /// Checks the settings and builds the policy.
    ///
    /// # Errors
    ///
    /// A [`ConfigError`] naming the first impossible setting: zero `max_attempts`, a
    /// `max_delay` below the base delay, an exponential `factor` below 1 or not finite, an
    /// empty `sequence`, or a decorrelated `jitter` multiplier of zero.
    pub const fn build(self) -> Result<RetryPolicy, ConfigError> {
        if self.max_attempts == 0 {
            return Err(invalid("max_attempts", "must be at least 1"));
        }
        let factor_fx = match self.backoff {
            Backoff::Exponential { factor, .. } => match factor_fixed(factor) {
                Some(fx) => fx,
                None => return Err(invalid("factor", "must be a finite number of at least 1")),
            },
            _ => 1 << 32,
        };
        if let Backoff::Sequence(s) = self.backoff {
            if s.is_empty() {
                return Err(invalid("sequence", "must hold at least one delay"));
            }
        }
        let max_delay = match self.max_delay {
            Some(d) => duration_to_nanos(d),
            None => u64::MAX,
        };
        if let Some(base) = self.backoff.base() {
            if duration_to_nanos(base) > max_delay {
                return Err(invalid(
                    "max_delay",
                    "must be at least the backoff's base delay",
                ));
            }
        }
        if let Jitter::Decorrelated { multiplier: 0 } = self.jitter {
            return Err(invalid(
                "jitter",
                "a decorrelated multiplier must be at least 1",
            ));
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
        })
    }

    /// Builds the policy in a `const` or `static`.
    ///
    /// # Panics
    ///
    /// On a setting [`build`](Self::build) refuses, with its message; in a `static` or
    /// `const`, that is a compile error:
    ///
    /// ```compile_fail,E0080
    /// use steadfast::retry::RetryPolicy;
    /// // error[E0080]: evaluation of constant value failed: must be at least 1
    /// static NEVER: RetryPolicy = RetryPolicy::builder().max_attempts(0).build_const();
    /// ```
    ///
    /// ```compile_fail,E0080
    /// use core::time::Duration;
    /// use steadfast::retry::RetryPolicy;
    /// // A cap below the base delay.
    /// static CAPPED: RetryPolicy = RetryPolicy::builder()
    ///     .exponential(Duration::from_millis(100), 2.0)
    ///     .max_delay(Duration::from_millis(10))
    ///     .build_const();
    /// ```
    pub const fn build_const(self) -> RetryPolicy {
        match self.build() {
            Ok(policy) => policy,
            Err(err) => panic!("{}", err.problem()),
        }
    }
}

const fn invalid(field: &'static str, problem: &'static str) -> ConfigError {
    ConfigError::new("retry", field, problem)
}
