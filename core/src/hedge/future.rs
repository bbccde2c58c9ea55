//! The [`Hedge`] future: up to five attempts in flight, held in place.

use core::fmt;
use core::future::Future;
use core::ops::Deref;
use core::pin::Pin;
use core::task::{Context, Poll};
use core::time::Duration;

use pin_project_lite::pin_project;

use super::error::HedgeError;
use super::policy::{HedgePolicy, after};
use crate::observe::{Event, Observe};
use crate::retry::{GiveUpReason, MakeAttempt, RetryBudget};
use crate::time::duration_to_nanos;
use crate::{Instant, Timer};

pin_project! {
    #[project = SlotProj]
    enum Slot<F> {
        Empty,
        Running { #[pin] future: F },
    }
}

pin_project! {
    #[project = WaitProj]
    enum Wait<S> {
        Idle,
        Armed { at: Instant, #[pin] sleep: S },
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Phase {
    Fresh,
    Running,
    Done,
}

pin_project! {
    /// The future of a hedged call: made by [`HedgePolicy::run`], adjusted with the methods
    /// below, then awaited.
    ///
    /// Its output is `Ok(value)` from the first attempt that succeeds, or
    /// `Err(`[`HedgeError`]`)` when an attempt failed fatally or every attempt failed. The
    /// attempts are held in the future itself (five slots, however many the policy allows):
    /// no allocation, no spawning; they run concurrently within the task that polls it.
    ///
    /// Type parameters: the operation `M`, the timer `T`, how the budget is held `B`, the
    /// classifier `W` ([`when`](Hedge::when)) and the pushback hook `H`
    /// ([`retry_after`](Hedge::retry_after)), whose defaults are function pointers: a
    /// `Hedge<MyCall, TokioTimer>` names the future of a call with the defaults. `O` is the
    /// [observer](crate::observe), `()` unless set with [`observe`](Hedge::observe).
    ///
    /// When it returns, every other attempt has already been dropped (in the same poll,
    /// before the result is handed over). Dropping it at any point drops every attempt in
    /// flight and its sleep, and no further attempt starts. `Send` when its parts are.
    #[must_use = "a hedged call does nothing unless awaited"]
    pub struct Hedge<
        M: MakeAttempt,
        T: Timer,
        B = &'static RetryBudget,
        W = fn(&<M as MakeAttempt>::Error) -> bool,
        H = fn(&<M as MakeAttempt>::Error) -> Option<Duration>,
        O: Observe = (),
    > {
        make: M,
        timer: T,
        policy: HedgePolicy,
        budget: Option<B>,
        // `None`: every error is non-fatal, with no call made.
        when: Option<W>,
        // `None`: no error suggests a delay.
        hint: Option<H>,
        deadline: Option<Instant>,
        stop_at: Instant,
        // When the next hedge is due by the delay; `None` until the clock is first read.
        next_at: Option<Instant>,
        started: u32,
        running: u32,
        // Why no further attempt will start, once that is known.
        stopped: Option<GiveUpReason>,
        // A non-fatal failure asks for the next hedge now.
        hedge_now: bool,
        last: Option<M::Error>,
        phase: Phase,
        observer: O,
        // Each slot's attempt start and number, for the observer (nothing for `()`).
        stamps: [O::Stamp; 5],
        #[pin]
        s0: Slot<M::Future>,
        #[pin]
        s1: Slot<M::Future>,
        #[pin]
        s2: Slot<M::Future>,
        #[pin]
        s3: Slot<M::Future>,
        #[pin]
        s4: Slot<M::Future>,
        #[pin]
        wait: Wait<T::Sleep>,
    }
}

impl<M: MakeAttempt, T: Timer> Hedge<M, T> {
    pub(super) fn new(policy: HedgePolicy, timer: T, make: M) -> Self {
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
    /// every attempt in flight and end the call with [`GiveUpReason::Permanent`]. By default
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
    /// and if they all fail the call ends with [`GiveUpReason::Deadline`]. `None` keeps the
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
    /// call ends with [`GiveUpReason::Budget`]. A started hedge keeps its withdrawal whether
    /// it wins or loses: it did add load. `budget` is anything that dereferences to the
    /// budget: `&RetryBudget` (a `static`), `Arc<RetryBudget>`.
    #[inline(always)]
    pub fn budget<B2: Deref<Target = RetryBudget>>(self, budget: B2) -> Hedge<M, T, B2, W, H, O> {
        rebuild!(self, Some(budget), self.when, self.hint)
    }

    /// A deadline for this call, on the timer's clock, in addition to the policy's
    /// [`max_elapsed`](super::HedgePolicyBuilder::max_elapsed) (the earlier one holds): no
    /// attempt starts after it. If it has passed at the first poll, no attempt is made: the
    /// call ends with [`GiveUpReason::Deadline`] and [`HedgeError::attempts`] 0.
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

/// Reports the end of slot `i`'s attempt, `ok` or not; its number. The stamp is read with
/// `get`, not an index: for `()` no bounds check is left.
fn ended<O: Observe, T: Timer>(
    observer: &O,
    timer: &T,
    stamps: &[O::Stamp; 5],
    i: usize,
    ok: bool,
) -> u32 {
    let stamp = stamps.get(i).copied().unwrap_or(O::BLANK);
    let (duration, attempt) = observer.since(timer, stamp);
    observer.emit(|| Event::AttemptEnded {
        pattern: "hedge",
        attempt,
        duration,
        ok,
    });
    attempt
}

/// Drops every attempt in flight and the sleep.
fn clear<F, S>(slots: &mut [Pin<&mut Slot<F>>; 5], mut wait: Pin<&mut Wait<S>>) {
    for slot in slots.iter_mut() {
        slot.set(Slot::Empty);
    }
    wait.set(Wait::Idle);
}

impl<M, T, B, W, H, O> Future for Hedge<M, T, B, W, H, O>
where
    O: Observe,
    M: MakeAttempt,
    T: Timer,
    B: Deref<Target = RetryBudget>,
    W: FnMut(&M::Error) -> bool,
    H: FnMut(&M::Error) -> Option<Duration>,
{
    type Output = Result<M::Value, HedgeError<M::Error>>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let policy = *this.policy;
        let mut slots = [this.s0, this.s1, this.s2, this.s3, this.s4];
        let mut wait = this.wait;
        // Which slots to poll in this pass: every running one, then only a new attempt.
        let mut to_poll: u8 = 0b1_1111;
        // The clock's reading in this poll, once read (virtual and real time alike: the
        // instants of one poll are taken as one).
        let mut known_now: Option<Instant> = None;
        match *this.phase {
            Phase::Running => {}
            Phase::Done => panic!("`Hedge` polled after completion"),
            Phase::Fresh => {
                // First poll: the call starts now. The clock is read only when a deadline or
                // a budget needs it (else when the first attempt has to wait).
                *this.phase = Phase::Running;
                let timed = policy.max_elapsed.is_some()
                    || this.deadline.is_some()
                    || this.budget.is_some();
                if timed {
                    let now = this.timer.now();
                    if let Some(max) = policy.max_elapsed {
                        *this.stop_at = now.saturating_add(max);
                    }
                    if let Some(deadline) = *this.deadline {
                        *this.stop_at = (*this.stop_at).min(deadline);
                    }
                    if now > *this.stop_at {
                        *this.phase = Phase::Done;
                        return Poll::Ready(Err(HedgeError::new(None, 0, GiveUpReason::Deadline)));
                    }
                    if let Some(budget) = this.budget.as_ref() {
                        budget.deposit(now);
                    }
                    *this.next_at = Some(after(now, policy.delay.after(1)));
                    known_now = Some(now);
                }
                *this.started = 1;
                *this.running = 1;
                this.stamps[0] = this.observer.start(&*this.timer, 1);
                this.observer.emit(|| Event::AttemptStarted {
                    pattern: "hedge",
                    attempt: 1,
                });
                slots[0].set(Slot::Running {
                    future: this.make.make_attempt(),
                });
                to_poll = 1;
            }
        }
        loop {
            for (i, slot) in slots.iter_mut().enumerate() {
                if to_poll & (1 << i) == 0 {
                    continue;
                }
                let SlotProj::Running { future } = slot.as_mut().project() else {
                    continue;
                };
                match future.poll(cx) {
                    Poll::Pending => {}
                    Poll::Ready(Ok(value)) => {
                        // The winner: every loser goes before the value is handed over.
                        *this.phase = Phase::Done;
                        *this.running = 0;
                        clear(&mut slots, wait);
                        let attempt = ended(&*this.observer, &*this.timer, this.stamps, i, true);
                        if *this.started > 1 {
                            this.observer.emit(|| Event::HedgeWon { attempt });
                        }
                        return Poll::Ready(Ok(value));
                    }
                    Poll::Ready(Err(error)) => {
                        slot.set(Slot::Empty);
                        *this.running -= 1;
                        ended(&*this.observer, &*this.timer, this.stamps, i, false);
                        if !this.when.as_mut().is_none_or(|when| when(&error)) {
                            *this.phase = Phase::Done;
                            *this.running = 0;
                            clear(&mut slots, wait);
                            let err = HedgeError::new(
                                Some(error),
                                *this.started,
                                GiveUpReason::Permanent,
                            );
                            return Poll::Ready(Err(err));
                        }
                        let hint = this.hint.as_mut().and_then(|hint| hint(&error));
                        *this.last = Some(error);
                        match hint {
                            None => *this.hedge_now = true,
                            Some(d) => {
                                // Pushback: the next hedge waits this long, or never starts.
                                let now = *known_now.get_or_insert_with(|| this.timer.now());
                                let at = after(now, duration_to_nanos(d));
                                if at == Instant::MAX || at > *this.stop_at {
                                    *this.stopped = Some(GiveUpReason::Deadline);
                                    wait.set(Wait::Idle);
                                } else {
                                    *this.next_at = Some(at);
                                }
                            }
                        }
                    }
                }
            }

            if *this.started < policy.max_attempts && this.stopped.is_none() {
                // `Some(now)` when the next hedge is due: read from the clock after a failure;
                // the instant it was due at when its sleep ended (no clock read: a timer that
                // wakes late still starts the hedge it slept for, as a retry does).
                let due = if *this.hedge_now {
                    Some(*known_now.get_or_insert_with(|| this.timer.now()))
                } else {
                    let next_at = match *this.next_at {
                        Some(at) => at,
                        None => {
                            // The first attempt had to wait: its delay counts from now.
                            let now = *known_now.get_or_insert_with(|| this.timer.now());
                            let at = after(now, policy.delay.after(*this.started));
                            *this.next_at = Some(at);
                            at
                        }
                    };
                    if next_at == Instant::MAX || next_at > *this.stop_at {
                        // No hedge by the delay: only a failure starts the next one.
                        None
                    } else if known_now.is_some_and(|now| next_at <= now) {
                        // Due already (a zero delay): no sleep to make.
                        Some(next_at)
                    } else {
                        let armed = matches!(&*wait, Wait::Armed { at, .. } if *at == next_at);
                        if !armed {
                            wait.set(Wait::Armed {
                                at: next_at,
                                sleep: this.timer.sleep_until(next_at),
                            });
                        }
                        match wait.as_mut().project() {
                            WaitProj::Armed { sleep, .. } => {
                                sleep.poll(cx).is_ready().then_some(next_at)
                            }
                            WaitProj::Idle => None,
                        }
                    }
                };
                if let Some(now) = due {
                    if now > *this.stop_at {
                        *this.stopped = Some(GiveUpReason::Deadline);
                    } else if this.budget.as_ref().is_some_and(|b| !b.try_withdraw(now)) {
                        *this.stopped = Some(GiveUpReason::Budget);
                        let attempt = *this.started;
                        this.observer.emit(|| Event::BudgetRefused {
                            pattern: "hedge",
                            attempt,
                        });
                    } else if let Some(i) = slots.iter().position(|s| matches!(**s, Slot::Empty)) {
                        *this.started += 1;
                        *this.running += 1;
                        let attempt = *this.started;
                        if let Some(s) = this.stamps.get_mut(i) {
                            *s = this.observer.start(&*this.timer, attempt);
                        }
                        this.observer.emit(|| Event::HedgeLaunched { attempt });
                        this.observer.emit(|| Event::AttemptStarted {
                            pattern: "hedge",
                            attempt,
                        });
                        *this.hedge_now = false;
                        *this.next_at = Some(after(now, policy.delay.after(*this.started)));
                        known_now = Some(now);
                        wait.set(Wait::Idle);
                        slots[i].set(Slot::Running {
                            future: this.make.make_attempt(),
                        });
                        to_poll = 1 << i;
                        continue;
                    }
                    wait.set(Wait::Idle);
                }
            }

            // Done when nothing runs and no hedge waits for its time (one put off by a
            // suggested delay may, with nothing in flight).
            if *this.running == 0 && !matches!(&*wait, Wait::Armed { .. }) {
                let reason = if *this.started >= policy.max_attempts {
                    GiveUpReason::AttemptsExhausted
                } else {
                    this.stopped.unwrap_or(GiveUpReason::AttemptsExhausted)
                };
                *this.phase = Phase::Done;
                clear(&mut slots, wait);
                return Poll::Ready(Err(HedgeError::new(
                    this.last.take(),
                    *this.started,
                    reason,
                )));
            }
            return Poll::Pending;
        }
    }
}
