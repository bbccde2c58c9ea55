//! How a [`Hedge`] is put together: its constructors (the pipeline's builds it in place), the
//! setters that change its hooks, budget, deadline and observer (each changing its type where
//! a hook's does), and its `Debug`.

use core::fmt;
use core::ops::Deref;
use core::time::Duration;

use super::super::policy::HedgePolicy;
use super::{Hedge, Phase, Slot, Wait};
use crate::observe::Observe;
use crate::retry::{MakeAttempt, RetryBudget};
use crate::{Instant, Timer};

impl<M: MakeAttempt, T: Timer> Hedge<M, T> {
    pub(in crate::hedge) fn new(policy: HedgePolicy, timer: T, make: M) -> Self {
        Hedge::assembled(policy, timer, make, ())
    }
}

impl<M: MakeAttempt, T: Timer, O: Observe>
    Hedge<M, T, &'static RetryBudget, fn(&M::Error) -> bool, fn(&M::Error) -> Option<Duration>, O>
{
    /// A hedge with its observer, built in place (the pipeline's).
    pub(crate) fn assembled(policy: HedgePolicy, timer: T, make: M, observer: O) -> Self {
        Hedge {
            make,
            timer,
            policy,
            budget: None,
            when: None,
            hint: None,
            deadline: None,
            stop_at: Instant::MAX,
            next_at: None,
            started: 0,
            running: 0,
            stopped: None,
            hedge_now: false,
            last: None,
            phase: Phase::Fresh,
            observer,
            stamps: [O::BLANK; 5],
            s0: Slot::Empty,
            s1: Slot::Empty,
            s2: Slot::Empty,
            s3: Slot::Empty,
            s4: Slot::Empty,
            wait: Wait::Idle,
        }
    }
}

/// Rebuilds a [`Hedge`] with its budget and hooks given (changing its type).
macro_rules! rebuild {
    ($h:ident, $budget:expr, $when:expr, $hint:expr) => {
        rebuild!($h, $budget, $when, $hint, $h.observer, $h.stamps)
    };
    ($h:ident, $budget:expr, $when:expr, $hint:expr, $observer:expr, $stamps:expr) => {
        Hedge {
            make: $h.make,
            timer: $h.timer,
            policy: $h.policy,
            budget: $budget,
            when: $when,
            hint: $hint,
            deadline: $h.deadline,
            stop_at: $h.stop_at,
            next_at: $h.next_at,
            started: $h.started,
            running: $h.running,
            stopped: $h.stopped,
            hedge_now: $h.hedge_now,
            last: $h.last,
            phase: $h.phase,
            observer: $observer,
            stamps: $stamps,
            s0: $h.s0,
            s1: $h.s1,
            s2: $h.s2,
            s3: $h.s3,
            s4: $h.s4,
            wait: $h.wait,
        }
    };
}

impl<M: MakeAttempt, T: Timer, B, W, H, O: Observe> Hedge<M, T, B, W, H, O> {
    /// Sorts errors into non-fatal ones, for which `non_fatal` returns `true` (another
    /// attempt may still succeed: the next hedge starts at once), and fatal ones, which cancel
    /// every attempt in flight and end the call with [`GiveUpReason::Permanent`](crate::retry::GiveUpReason::Permanent). By default
    /// every error is non-fatal, as every error is transient to a retry.
    #[inline(always)]
    pub fn when<W2: FnMut(&M::Error) -> bool>(self, non_fatal: W2) -> Hedge<M, T, B, W2, H, O> {
        rebuild!(self, self.budget, Some(non_fatal), self.hint)
    }

    /// Lets a non-fatal error suggest when the next hedge may start (gRPC's pushback, a
    /// Retry-After, an open circuit breaker's [`retry_after`](crate::breaker::CircuitOpen::retry_after)):
    /// `Some(d)` starts it `d` after the failure instead of at once, and the hedges after it
    /// are again `delay` apart. A suggested delay that would end past the deadline
    /// ([`Duration::MAX`] always does) starts no further hedge: the attempts in flight go on,
    /// and if they all fail the call ends with [`GiveUpReason::Deadline`](crate::retry::GiveUpReason::Deadline). `None` keeps the
    /// rule: the next hedge starts at once.
    #[inline(always)]
    pub fn retry_after<H2: FnMut(&M::Error) -> Option<Duration>>(
        self,
        hint: H2,
    ) -> Hedge<M, T, B, W, H2, O> {
        rebuild!(self, self.budget, self.when, Some(hint))
    }

    /// Throttles hedges with a [`RetryBudget`] shared with other callers (and with retries):
    /// the call deposits one call at its first poll, and each hedge must be withdrawn from
    /// the budget as it starts, exactly as a retry is. A hedge the budget refuses is not
    /// started, and none after it; the attempts in flight go on, and if they all fail the
    /// call ends with [`GiveUpReason::Budget`](crate::retry::GiveUpReason::Budget). A started hedge keeps its withdrawal whether
    /// it wins or loses: it did add load. `budget` is anything that dereferences to the
    /// budget: `&RetryBudget` (a `static`), `Arc<RetryBudget>`.
    #[inline(always)]
    pub fn budget<B2: Deref<Target = RetryBudget>>(self, budget: B2) -> Hedge<M, T, B2, W, H, O> {
        rebuild!(self, Some(budget), self.when, self.hint)
    }

    /// A deadline for this call, on the timer's clock, in addition to the policy's
    /// [`max_elapsed`](crate::hedge::HedgePolicyBuilder::max_elapsed) (the earlier one holds): no
    /// attempt starts after it. If it has passed at the first poll, no attempt is made: the
    /// call ends with [`GiveUpReason::Deadline`](crate::retry::GiveUpReason::Deadline) and [`HedgeError::attempts`](crate::hedge::HedgeError::attempts) 0.
    #[inline(always)]
    pub fn deadline(mut self, deadline: Instant) -> Self {
        self.deadline = Some(deadline);
        self
    }

    /// Reports each attempt's start and end, each hedge launched, the winner of a hedged
    /// call and a budget's refusal to `observer` (see [`crate::observe`]).
    #[inline(always)]
    pub fn observe<O2: Observe>(self, observer: O2) -> Hedge<M, T, B, W, H, O2> {
        rebuild!(
            self,
            self.budget,
            self.when,
            self.hint,
            observer,
            [O2::BLANK; 5]
        )
    }

    /// How many attempts have been started so far, the first included.
    #[must_use]
    pub fn attempts(&self) -> u32 {
        self.started
    }

    /// How many attempts are in flight now.
    #[must_use]
    pub fn in_flight(&self) -> u32 {
        self.running
    }
}

impl<M: MakeAttempt, T: Timer, B, W, H, O: Observe> fmt::Debug for Hedge<M, T, B, W, H, O> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Hedge")
            .field("policy", &self.policy)
            .field("attempts", &self.started)
            .field("in_flight", &self.running)
            .field("deadline", &self.deadline)
            .finish_non_exhaustive()
    }
}
