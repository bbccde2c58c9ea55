//! How a [`Retry`] is put together: the pipeline's one-step constructor, the setters that
//! change its hooks, budget, deadline and observer (each changing its type where a hook's
//! does), and its `Debug`.

use core::fmt;
use core::ops::Deref;
use core::time::Duration;

use super::{MakeAttempt, Retry};
use crate::observe::Observe;
use crate::retry::budget::RetryBudget;
use crate::retry::notice::Notice;
use crate::{Instant, Timer};

impl<M: MakeAttempt, T: Timer, P, B, W, R, H, N, O: Observe> Retry<M, T, P, B, W, R, H, N, O> {
    /// A retry with its budget, error hooks, deadline and observer set at once: the
    /// pipeline's, which builds one per call and so avoids moving it once per setting.
    #[allow(clippy::too_many_arguments, dead_code)]
    pub(crate) fn assembled(
        make: M,
        timer: &T,
        policy: P,
        budget: Option<B>,
        when: W,
        hint: H,
        deadline: Option<Instant>,
        observer: O,
    ) -> Self {
        Retry {
            make,
            timer: timer.clone(),
            policy,
            budget,
            when: Some(when),
            retry_on: None,
            hint: Some(hint),
            notify: None,
            stop_at: deadline.unwrap_or(Instant::MAX),
            attempts: 0,
            delays: None,
            yielded: false,
            done: false,
            observer,
            started: O::BLANK,
            attempt: None,
            sleep: None,
        }
    }
}

/// Rebuilds a [`Retry`] with its budget and hooks given (changing its type).
macro_rules! rebuild {
    ($r:ident, $budget:expr, $when:expr, $retry_on:expr, $hint:expr, $notify:expr) => {
        Retry {
            make: $r.make,
            timer: $r.timer,
            policy: $r.policy,
            budget: $budget,
            when: $when,
            retry_on: $retry_on,
            hint: $hint,
            notify: $notify,
            stop_at: $r.stop_at,
            attempts: $r.attempts,
            delays: $r.delays,
            yielded: $r.yielded,
            done: $r.done,
            observer: $r.observer,
            started: $r.started,
            attempt: $r.attempt,
            sleep: $r.sleep,
        }
    };
}

impl<M: MakeAttempt, T: Timer, P, B, W, R, H, N, O: Observe> Retry<M, T, P, B, W, R, H, N, O> {
    /// Retries only errors for which `predicate` returns `true` (transient ones); any other
    /// error ends the call at once with [`GiveUpReason::Permanent`](crate::retry::GiveUpReason::Permanent). By default every error is
    /// retried. Timed-out attempts are always retried (within the policy): the predicate is
    /// not asked about them.
    #[inline(always)]
    pub fn when<W2: FnMut(&M::Error) -> bool>(
        self,
        predicate: W2,
    ) -> Retry<M, T, P, B, W2, R, H, N, O> {
        rebuild!(
            self,
            self.budget,
            Some(predicate),
            self.retry_on,
            self.hint,
            self.notify
        )
    }

    /// Also retries successful values for which `predicate` returns `true` ("not ready
    /// yet"). When retrying such a value stops (attempts, deadline or budget), the last value
    /// is returned as `Ok`.
    #[inline(always)]
    pub fn retry_on_value<R2: FnMut(&M::Value) -> bool>(
        self,
        predicate: R2,
    ) -> Retry<M, T, P, B, W, R2, H, N, O> {
        rebuild!(
            self,
            self.budget,
            self.when,
            Some(predicate),
            self.hint,
            self.notify
        )
    }

    /// Lets the error suggest the delay before the next attempt (Retry-After). A suggested
    /// delay replaces the policy's delay for that retry, without jitter and without the
    /// `max_delay` cap; the deadline still holds: if the suggested sleep would end past it,
    /// the call gives up with [`GiveUpReason::Deadline`](crate::retry::GiveUpReason::Deadline).
    #[inline(always)]
    pub fn retry_after<H2: FnMut(&M::Error) -> Option<Duration>>(
        self,
        hint: H2,
    ) -> Retry<M, T, P, B, W, R, H2, N, O> {
        rebuild!(
            self,
            self.budget,
            self.when,
            self.retry_on,
            Some(hint),
            self.notify
        )
    }

    /// Calls `notify` before each sleep with the attempt that ended, how it ended (error,
    /// value or timeout) and the delay: the place for a log line.
    #[inline(always)]
    pub fn notify<N2: FnMut(&Notice<'_, M::Value, M::Error>)>(
        self,
        notify: N2,
    ) -> Retry<M, T, P, B, W, R, H, N2, O> {
        rebuild!(
            self,
            self.budget,
            self.when,
            self.retry_on,
            self.hint,
            Some(notify)
        )
    }

    /// Shares a [`RetryBudget`] with other callers: this call deposits one call at its first
    /// poll, and each retry must be withdrawn from the budget first; when none is left the call
    /// gives up with [`GiveUpReason::Budget`](crate::retry::GiveUpReason::Budget) and the last error. `budget` is anything that
    /// dereferences to the budget: `&RetryBudget` (a `static`), `Arc<RetryBudget>`.
    #[inline(always)]
    pub fn budget<B2: Deref<Target = RetryBudget>>(
        self,
        budget: B2,
    ) -> Retry<M, T, P, B2, W, R, H, N, O> {
        rebuild!(
            self,
            Some(budget),
            self.when,
            self.retry_on,
            self.hint,
            self.notify
        )
    }

    /// A deadline for this call, on `timer`'s clock, in addition to the policy's
    /// [`max_elapsed`](crate::retry::RetryPolicyBuilder::max_elapsed) (the earlier one holds), with
    /// the same rule: no attempt begins after it. If it has passed at the first poll, no
    /// attempt is made at all: the call gives up with [`GiveUpReason::Deadline`](crate::retry::GiveUpReason::Deadline) and
    /// [`RetryError::attempts`](crate::retry::RetryError::attempts) 0.
    #[inline(always)]
    pub fn deadline(mut self, deadline: Instant) -> Self {
        self.stop_at = deadline;
        self
    }

    /// Reports each attempt's start and end, each retry scheduled and a budget's refusal to
    /// `observer` (see [`crate::observe`]).
    #[inline(always)]
    pub fn observe<O2: Observe>(self, observer: O2) -> Retry<M, T, P, B, W, R, H, N, O2> {
        Retry {
            make: self.make,
            timer: self.timer,
            policy: self.policy,
            budget: self.budget,
            when: self.when,
            retry_on: self.retry_on,
            hint: self.hint,
            notify: self.notify,
            stop_at: self.stop_at,
            attempts: self.attempts,
            delays: self.delays,
            yielded: self.yielded,
            done: self.done,
            observer,
            started: O2::BLANK,
            attempt: self.attempt,
            sleep: self.sleep,
        }
    }

    /// How many attempts have been started so far.
    #[must_use]
    pub fn attempts(&self) -> u32 {
        self.attempts
    }
}

impl<M: MakeAttempt, T: Timer, P, B, W, R, H, N, O: Observe> fmt::Debug
    for Retry<M, T, P, B, W, R, H, N, O>
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Retry")
            .field("attempts", &self.attempts)
            .field(
                "deadline",
                &(self.stop_at != Instant::MAX).then_some(self.stop_at),
            )
            .finish_non_exhaustive()
    }
}
