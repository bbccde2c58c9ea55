//! The pipeline's builder and its cross-stage checks.

use core::fmt;
use core::time::Duration;

use super::Pipeline;
use crate::ConfigError;
use crate::breaker::{AnyBreaker, CircuitBreaker};
use crate::bulkhead::Bulkhead;
use crate::limiter::RateLimiter;
use crate::retry::{Backoff, Jitter, RetryBudget, RetryPolicy};
use crate::time::duration_to_nanos;

/// The stages of a [`Pipeline`], set with `const` methods (any of them, in any order: the
/// order of the stages is the pipeline's, not the calls'), checked across stages by
/// [`build`](Self::build), or built in a `static` by [`build_const`](Self::build_const).
/// From [`Pipeline::builder`].
#[derive(Clone, Copy)]
#[must_use = "a builder does nothing until built"]
pub struct PipelineBuilder<'a> {
    pub(super) total_timeout: Option<Duration>,
    pub(super) attempt_timeout: Option<Duration>,
    pub(super) retry: Option<RetryPolicy>,
    pub(super) budget: Option<&'a RetryBudget>,
    pub(super) breaker: Option<AnyBreaker<'a>>,
    /// The breaker's time window and slow-call threshold, in nanoseconds, for the checks.
    breaker_window: Option<u64>,
    breaker_slow: Option<u64>,
    pub(super) limiter: Option<(&'a RateLimiter, Option<Duration>)>,
    pub(super) bulkhead: Option<(&'a Bulkhead, Option<Duration>)>,
    pub(super) bulkhead_outermost: bool,
}

const fn invalid(field: &'static str, problem: &'static str) -> ConfigError {
    ConfigError::new("pipeline", field, problem)
}

impl<'a> PipelineBuilder<'a> {
    pub(super) const fn new() -> Self {
        PipelineBuilder {
            total_timeout: None,
            attempt_timeout: None,
            retry: None,
            budget: None,
            breaker: None,
            breaker_window: None,
            breaker_slow: None,
            limiter: None,
            bulkhead: None,
            bulkhead_outermost: false,
        }
    }

    /// The total timeout: the whole call (every attempt, every wait, every backoff sleep) is
    /// bounded by it, counted from the call's first poll (with
    /// [`bulkhead_outermost`](Self::bulkhead_outermost), from the bulkhead's admission). On
    /// expiry whatever runs is dropped and the call fails with
    /// [`PipelineError::Timeout`](super::PipelineError::Timeout). It is also the retry
    /// stage's deadline: no backoff sleep that would end past it is started.
    pub const fn total_timeout(mut self, timeout: Duration) -> Self {
        self.total_timeout = Some(timeout);
        self
    }

    /// The retry stage, by this policy (its attempts, backoff, jitter and `max_elapsed`; the
    /// attempt timeout is the pipeline's, [`attempt_timeout`](Self::attempt_timeout)).
    pub const fn retry(mut self, policy: RetryPolicy) -> Self {
        self.retry = Some(policy);
        self
    }

    /// A retry budget shared with other callers: each retry (or each hedge of
    /// [`call_hedged`](Pipeline::call_hedged)) is withdrawn from it first, and each call
    /// deposits one; with none left the call gives up with the last error (a hedged call
    /// starts no further hedge).
    pub const fn budget(mut self, budget: &'a RetryBudget) -> Self {
        self.budget = Some(budget);
        self
    }

    /// The circuit breaker, inside the retry stage: it sees, and counts, every attempt.
    pub const fn breaker<const N: usize>(mut self, breaker: &'a CircuitBreaker<N>) -> Self {
        self.breaker_window = breaker.time_window_nanos();
        self.breaker_slow = breaker.slow_threshold_nanos();
        self.breaker = Some(AnyBreaker::new(breaker));
        self
    }

    /// The rate limiter, one cell per attempt; an attempt waits for its cell (first come,
    /// first served), at most until the call's deadline when it has one: a wait predicted
    /// past it is refused at once with the predicted wait.
    pub const fn limiter(mut self, limiter: &'a RateLimiter) -> Self {
        self.limiter = Some((limiter, None));
        self
    }

    /// [`limiter`](Self::limiter), waiting at most `max_wait` for the cell (zero: refused at
    /// once when no cell is there).
    pub const fn limiter_within(mut self, limiter: &'a RateLimiter, max_wait: Duration) -> Self {
        self.limiter = Some((limiter, Some(max_wait)));
        self
    }

    /// The bulkhead, inside the limiter: each attempt holds a permit while its operation
    /// runs, and waits for it as the bulkhead says (FIFO, capped, or turned away at once with
    /// `reject_when_full`).
    pub const fn bulkhead(mut self, bulkhead: &'a Bulkhead) -> Self {
        self.bulkhead = Some((bulkhead, None));
        self
    }

    /// [`bulkhead`](Self::bulkhead), waiting at most `max_wait` for the permit.
    pub const fn bulkhead_within(mut self, bulkhead: &'a Bulkhead, max_wait: Duration) -> Self {
        self.bulkhead = Some((bulkhead, Some(max_wait)));
        self
    }

    /// The one alternative order: the bulkhead outermost (inside the fallback only), so that
    /// a permit is held by a logical call, all its attempts and backoff sleeps included,
    /// rather than by each attempt. See the [module docs](super#the-alternative-order).
    pub const fn bulkhead_outermost(mut self) -> Self {
        self.bulkhead_outermost = true;
        self
    }

    /// The attempt timeout, innermost: each attempt's operation is bounded by it, counted
    /// from the operation's first poll (after the bulkhead's admission), and a timeout is a
    /// failure for the breaker and frees the permit with the work. A timed-out attempt is
    /// always retried (within the retry stage).
    pub const fn attempt_timeout(mut self, timeout: Duration) -> Self {
        self.attempt_timeout = Some(timeout);
        self
    }

    /// Checks the settings across stages and builds the pipeline.
    ///
    /// # Errors
    ///
    /// A [`ConfigError`] (pattern `"pipeline"`) naming the first setting at fault:
    ///
    /// | field | rule |
    /// |---|---|
    /// | `total_timeout`, `attempt_timeout` | above zero |
    /// | `attempt_timeout` | at most the total timeout |
    /// | `breaker` | a time window at least twice the attempt timeout; a slow-call threshold below it |
    /// | `retry` | no attempt timeout of its own (the pipeline's runs inside the breaker and the bulkhead); a first delay (its smallest, jitter included) shorter than the total timeout |
    /// | `bulkhead_outermost` | only with a bulkhead |
    pub const fn build(self) -> Result<Pipeline<'a>, ConfigError> {
        if let Err(e) = self.check() {
            return Err(e);
        }
        Ok(Pipeline {
            total_timeout: self.total_timeout,
            attempt_timeout: self.attempt_timeout,
            retry: self.retry,
            budget: self.budget,
            breaker: self.breaker,
            limiter: self.limiter,
            bulkhead: self.bulkhead,
            bulkhead_outermost: self.bulkhead_outermost,
        })
    }

    /// [`build`](Self::build) for a `const` or `static`: a bad setting fails const
    /// evaluation (a compile error); at run time it panics with the error's problem.
    pub const fn build_const(self) -> Pipeline<'a> {
        match self.build() {
            Ok(p) => p,
            Err(e) => panic!("{}", e.problem()),
        }
    }

    const fn check(&self) -> Result<(), ConfigError> {
        let total = match self.total_timeout {
            Some(t) if t.is_zero() => return Err(invalid("total_timeout", "must be above zero")),
            Some(t) => Some(duration_to_nanos(t)),
            None => None,
        };
        let attempt = match self.attempt_timeout {
            Some(a) if a.is_zero() => {
                return Err(invalid("attempt_timeout", "must be above zero"));
            }
            Some(a) => Some(duration_to_nanos(a)),
            None => None,
        };
        if let (Some(a), Some(t)) = (attempt, total) {
            if a > t {
                return Err(invalid(
                    "attempt_timeout",
                    "must be at most the total timeout",
                ));
            }
        }
        if let Some(a) = attempt {
            if let Some(w) = self.breaker_window {
                if w < a.saturating_mul(2) {
                    return Err(invalid(
                        "breaker",
                        "its time window must be at least twice the attempt timeout",
                    ));
                }
            }
            if let Some(s) = self.breaker_slow {
                if s >= a {
                    return Err(invalid(
                        "breaker",
                        "its slow-call threshold must be below the attempt timeout \
                         (an attempt cut at the timeout is a failure, never a slow call)",
                    ));
                }
            }
        }
        if let Some(policy) = &self.retry {
            if policy.attempt_timeout().is_some() {
                return Err(invalid(
                    "retry",
                    "has an attempt timeout of its own: set it on the pipeline \
                     (`attempt_timeout`), where it runs inside the breaker and the bulkhead",
                ));
            }
            if let (Some(t), Some(first)) = (total, smallest_first_delay(policy)) {
                if policy.max_attempts() > 1 && first >= t {
                    return Err(invalid(
                        "retry",
                        "its first delay does not fit the total timeout: no retry could start",
                    ));
                }
            }
        }
        if self.bulkhead_outermost && self.bulkhead.is_none() {
            return Err(invalid("bulkhead_outermost", "needs a bulkhead"));
        }
        Ok(())
    }
}

/// The shortest delay the policy can sleep before its first retry, in nanoseconds: the
/// backoff's first delay, capped, then the least its jitter can make of it (`None` for a
/// custom backoff, whose delays are known only when called).
const fn smallest_first_delay(policy: &RetryPolicy) -> Option<u64> {
    let backoff = policy.backoff();
    let first = match backoff {
        Backoff::Sequence(s) => s[0],
        _ => match backoff.base() {
            Some(d) => d,
            None => return None,
        },
    };
    let cap = duration_to_nanos(policy.max_delay());
    let d = duration_to_nanos(first);
    let d = if d < cap { d } else { cap };
    Some(match policy.jitter() {
        Jitter::Full => 0,
        Jitter::Equal => d / 2,
        _ => d,
    })
}

impl fmt::Debug for PipelineBuilder<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PipelineBuilder")
            .field("total_timeout", &self.total_timeout)
            .field("retry", &self.retry)
            .field("budget", &self.budget.is_some())
            .field("breaker", &self.breaker.is_some())
            .field("limiter", &self.limiter.map(|l| l.1))
            .field("bulkhead", &self.bulkhead.map(|b| b.1))
            .field("bulkhead_outermost", &self.bulkhead_outermost)
            .field("attempt_timeout", &self.attempt_timeout)
            .finish()
    }
}
