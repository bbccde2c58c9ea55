//! Backoff shapes and the delay sequence a policy produces.

use core::time::Duration;

use super::RetryPolicy;
use super::jitter::{self, Rng};
use crate::time::duration_to_nanos;

/// The shape of the delays between attempts, before jitter and before the `max_delay` cap.
///
/// Numbering: the first call is **attempt 1**; **retry n** is attempt n + 1, and the delay
/// `d(n)` is slept before it. So with `max_attempts = 4` there are three retries and three
/// delays, `d(1)`, `d(2)`, `d(3)`.
///
/// | backoff | `d(n)` |
/// |---|---|
/// | [`Constant(c)`](Backoff::Constant) | `c` |
/// | [`Linear { base, step }`](Backoff::Linear) | `base + step·(n − 1)` |
/// | [`Exponential { base, factor }`](Backoff::Exponential) | `base·factorⁿ⁻¹` |
/// | [`Sequence(s)`](Backoff::Sequence) | `s[n − 1]`, and the last element once `s` runs out |
/// | [`Custom(f)`](Backoff::Custom) | `f(n)` |
///
/// Every `d(n)` is then capped at `max_delay`. Arithmetic is in whole nanoseconds and
/// saturates, so nothing overflows or panics for any `n` up to `u32::MAX`. The exponential
/// shape is computed one retry at a time in fixed point (32 fractional bits of a nanosecond,
/// the factor rounded down to a multiple of 2⁻³²), which makes it exactly non-decreasing and
/// constant once it reaches the cap.
#[derive(Clone, Copy, Debug)]
#[non_exhaustive]
pub enum Backoff {
    /// The same delay before every retry.
    Constant(Duration),
    /// A delay growing by `step` with each retry.
    Linear {
        /// The delay before the first retry.
        base: Duration,
        /// Added for each further retry.
        step: Duration,
    },
    /// A delay multiplied by `factor` with each retry.
    Exponential {
        /// The delay before the first retry.
        base: Duration,
        /// The growth per retry: finite and at least 1.
        factor: f64,
    },
    /// The delays given, in order; the last one repeats. Must not be empty.
    Sequence(&'static [Duration]),
    /// `f(n)` before retry `n` (n = 1, 2, …).
    Custom(fn(u32) -> Duration),
}

#[cfg(feature = "defmt")]
impl defmt::Format for Backoff {
    fn format(&self, f: defmt::Formatter<'_>) {
        match *self {
            Backoff::Constant(d) => defmt::write!(f, "Constant({})", d),
            Backoff::Linear { base, step } => {
                defmt::write!(f, "Linear {{ base: {}, step: {} }}", base, step);
            }
            Backoff::Exponential { base, factor } => {
                defmt::write!(
                    f,
                    "Exponential {{ base: {}, factor: {=f64} }}",
                    base,
                    factor
                );
            }
            Backoff::Sequence(delays) => defmt::write!(f, "Sequence({})", delays),
            Backoff::Custom(_) => defmt::write!(f, "Custom(fn)"),
        }
    }
}

impl Backoff {
    /// The base delay that `max_delay` is checked against (`None` for shapes without one).
    pub(crate) const fn base(&self) -> Option<Duration> {
        match *self {
            Backoff::Constant(d) => Some(d),
            Backoff::Linear { base, .. } | Backoff::Exponential { base, .. } => Some(base),
            Backoff::Sequence(_) | Backoff::Custom(_) => None,
        }
    }
}

/// The delays a [`RetryPolicy`](super::RetryPolicy) sleeps before retry 1, 2, 3, …: backoff,
/// cap and jitter applied. An endless iterator; get one from
/// [`RetryPolicy::delays`](super::RetryPolicy::delays) to drive a retry loop of your own.
///
/// Delays suggested by errors (Retry-After) are not part of it: they replace a delay of this
/// sequence without changing the ones after it.
#[derive(Clone, Debug)]
pub struct Delays {
    policy: RetryPolicy,
    state: DelayState,
}

impl Delays {
    pub(crate) fn new(policy: RetryPolicy, seed: u64) -> Self {
        let state = DelayState::new(&policy, Rng::new(seed));
        Delays { policy, state }
    }

    /// Pretends `retry` delays were produced (stateless shapes only).
    #[cfg(test)]
    pub(crate) fn skip_to(&mut self, retry: u32) {
        self.state.retry = retry;
    }
}

/// Where a sequence of [`Delays`] stands; the settings it follows stay in the policy, which a
/// [`Retry`](super::Retry) holds anyway.
#[derive(Clone, Debug)]
pub(crate) struct DelayState {
    rng: Rng,
    /// Delays produced so far (saturating).
    retry: u32,
    /// Exponential: the next un-jittered delay in nanoseconds, 32 fractional bits.
    acc: u128,
    /// The un-jittered, capped delay before retry 1.
    first: u64,
    /// The jittered delay produced last (`first` before any).
    prev: u64,
}

impl DelayState {
    pub(crate) fn new(policy: &RetryPolicy, rng: Rng) -> Self {
        let mut state = DelayState {
            rng,
            retry: 0,
            acc: 0,
            first: 0,
            prev: 0,
        };
        if let Backoff::Exponential { base, .. } = policy.backoff {
            state.acc = u128::from(duration_to_nanos(base).min(policy.max_delay)) << 32;
        }
        state.first = state.clone().next_base(policy);
        state.prev = state.first;
        state
    }

    /// The next un-jittered delay, capped, in nanoseconds.
    fn next_base(&mut self, policy: &RetryPolicy) -> u64 {
        self.retry = self.retry.saturating_add(1);
        let n = self.retry;
        let cap = policy.max_delay;
        let d = match policy.backoff {
            Backoff::Constant(c) => duration_to_nanos(c),
            Backoff::Linear { base, step } => duration_to_nanos(base)
                .saturating_add(duration_to_nanos(step).saturating_mul(u64::from(n - 1))),
            Backoff::Exponential { .. } => {
                let out = (self.acc >> 32) as u64;
                // `(acc · factor) >> 32`, capped, from two narrow products instead of one
                // 128-bit product with an overflow check (far less code on Cortex-M): with
                // `acc = out·2³² + frac` it is `out·factor + (frac·factor) >> 32` exactly, and
                // a product past 2¹²⁸ is past the cap anyway.
                let fx = u128::from(policy.factor_fx);
                let frac = u128::from(self.acc as u32);
                let next = (u128::from(out) * fx).saturating_add((frac * fx) >> 32);
                self.acc = next.min(u128::from(cap) << 32);
                out
            }
            Backoff::Sequence(s) => match s.get(n as usize - 1).or(s.last()) {
                Some(d) => duration_to_nanos(*d),
                None => 0,
            },
            Backoff::Custom(f) => duration_to_nanos(f(n)),
        };
        d.min(cap)
    }

    /// The next delay of `policy` with jitter, in nanoseconds, and the un-jittered delay it
    /// came from.
    pub(crate) fn next_pair(&mut self, policy: &RetryPolicy) -> (u64, u64) {
        let d = self.next_base(policy);
        (self.jittered(policy, d), d)
    }

    /// The jittered delay of `policy` before retry `n` (1, 2, …), `prev` being the jittered
    /// delay drawn before retry `n − 1` (unused for the first), without producing the delays
    /// in between: for a caller that keeps one number between draws rather than the sequence
    /// (the circuit breaker's open durations). The exponential shape is stepped from its base,
    /// and stops stepping once it no longer grows (at the cap).
    pub(crate) fn delay_at(mut self, policy: &RetryPolicy, n: u32, prev: u64) -> u64 {
        let n = n.max(1);
        let d = if let Backoff::Exponential { .. } = policy.backoff {
            let mut d = self.next_base(policy);
            while self.retry < n {
                let before = self.acc;
                d = self.next_base(policy);
                if self.acc == before {
                    break;
                }
            }
            d
        } else {
            self.retry = n - 1;
            self.next_base(policy)
        };
        if n > 1 {
            self.prev = prev;
        }
        self.jittered(policy, d)
    }

    fn jittered(&mut self, policy: &RetryPolicy, d: u64) -> u64 {
        let j = jitter::apply(
            policy.jitter,
            &mut self.rng,
            d,
            self.first,
            policy.max_delay,
            self.prev,
        );
        self.prev = j;
        j
    }
}

impl Iterator for Delays {
    type Item = Duration;

    fn next(&mut self) -> Option<Duration> {
        Some(Duration::from_nanos(self.state.next_pair(&self.policy).0))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (usize::MAX, None)
    }
}

/// `factor` in fixed point with 32 fractional bits, rounded down; `None` when it is below 1 or
/// not finite.
pub(crate) const fn factor_fixed(factor: f64) -> Option<u64> {
    // NaN fails the comparison.
    let valid = factor >= 1.0 && factor != f64::INFINITY;
    if !valid {
        return None;
    }
    // `as` saturates: factors of 2^32 and more become u64::MAX, still growing.
    Some((factor * 4_294_967_296.0) as u64)
}
