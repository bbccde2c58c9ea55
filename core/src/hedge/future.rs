//! The [`Hedge`] future: up to five attempts in flight, held in place.

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

mod setters;

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
