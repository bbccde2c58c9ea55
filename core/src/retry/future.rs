//! The [`Retry`] future and [`MakeAttempt`], the operation it retries.

use core::borrow::Borrow;
use core::future::Future;
use core::ops::Deref;
use core::pin::Pin;
use core::task::{Context, Poll};
use core::time::Duration;

use pin_project_lite::pin_project;

use super::backoff::DelayState;
use super::budget::RetryBudget;
use super::error::{GiveUpReason, RetryError};
use super::notice::{Notice, Outcome};
use super::policy::RetryPolicy;
use crate::observe::{Event, Observe};
use crate::time::duration_to_nanos;
use crate::{Instant, Timer};

mod setters;

/// An operation to retry: it makes one attempt (a future of `Result<Value, Error>`) each time
/// it is asked. Implemented by every `FnMut() -> impl Future<Output = Result<V, E>>`, and by
/// any type of yours, so that a [`Retry`] over it has a type you can name (a tower
/// `Service`'s `Future`, a struct field) without boxing.
///
/// [`retry`](MakeAttempt::retry) makes the [`Retry`] future: `(|| fetch(url)).retry(&policy,
/// &timer)`.
///
/// ```
/// # #[cfg(feature = "alloc")] {
/// use core::future::{Ready, ready};
/// use steadfast::retry::{MakeAttempt, Retry, RetryPolicy};
/// use steadfast::VirtualTimer;
///
/// /// Reads a sensor; a named type, so its retry future can be named too.
/// struct ReadSensor { reads: u32 }
///
/// impl MakeAttempt for ReadSensor {
///     type Value = u32;
///     type Error = &'static str;
///     type Future = Ready<Result<u32, &'static str>>;
///     fn make_attempt(&mut self) -> Self::Future {
///         self.reads += 1;
///         ready(if self.reads < 3 { Err("busy") } else { Ok(42) })
///     }
/// }
///
/// static POLICY: RetryPolicy = RetryPolicy::builder().max_attempts(5).build_const();
/// let timer = VirtualTimer::new();
/// let retry: Retry<ReadSensor, VirtualTimer> = ReadSensor { reads: 0 }.retry(&POLICY, &timer);
/// assert_eq!(futures_executor::block_on(timer.auto_advance(retry)), Ok(42));
/// # }
/// ```
pub trait MakeAttempt {
    /// What a successful attempt gives.
    type Value;
    /// What a failed attempt gives.
    type Error;
    /// One attempt.
    type Future: Future<Output = Result<Self::Value, Self::Error>>;

    /// Starts one attempt; called once per attempt, the first included.
    fn make_attempt(&mut self) -> Self::Future;

    /// A [`Retry`] that makes attempts with `self` by `policy`, sleeping on `timer`. The policy
    /// is taken as `&RetryPolicy` (a `static`, or a local that outlives the call), as a
    /// `RetryPolicy` (it is `Copy`), or as an `Arc<RetryPolicy>`: the last two give a
    /// `'static` future when the rest is, to spawn. Nothing runs until it is polled.
    fn retry<P: Borrow<RetryPolicy>, T: Timer>(self, policy: P, timer: &T) -> Retry<Self, T, P>
    where
        Self: Sized,
    {
        Retry {
            make: self,
            timer: timer.clone(),
            policy,
            budget: None,
            when: None,
            retry_on: None,
            hint: None,
            notify: None,
            stop_at: Instant::MAX,
            attempts: 0,
            delays: None,
            yielded: false,
            done: false,
            observer: (),
            started: (),
            attempt: None,
            sleep: None,
        }
    }
}

impl<F, Fut, V, E> MakeAttempt for F
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<V, E>>,
{
    type Value = V;
    type Error = E;
    type Future = Fut;

    fn make_attempt(&mut self) -> Fut {
        self()
    }
}

pin_project! {
    /// The future of a call with retries: made by [`MakeAttempt::retry`], adjusted with the
    /// methods below, then awaited.
    ///
    /// Its output is `Ok(value)` once an attempt succeeds with a value the value predicate
    /// accepts (or when retrying a value stops: the last value is returned), or
    /// `Err(`[`RetryError`]`)` with how the last attempt ended, the attempt count and the
    /// [`GiveUpReason`].
    ///
    /// Type parameters: the operation `M`, the timer `T`, how the policy is held `P`
    /// (`&'static RetryPolicy` unless named), how the budget is held `B`, and the hooks `W`
    /// ([`when`](Retry::when)), `R` ([`retry_on_value`](Retry::retry_on_value)), `H`
    /// ([`retry_after`](Retry::retry_after)) and `N` ([`notify`](Retry::notify)), whose
    /// defaults are function pointers: a `Retry<MyCall, TokioTimer, Arc<RetryPolicy>>` names
    /// the future of a call with the default hooks; and the [observer](crate::observe) `O`,
    /// `()` unless set with [`observe`](Retry::observe).
    ///
    /// Dropping it at any point cancels the call: the running attempt is dropped, or the
    /// sleep, and no further attempt starts. It allocates nothing and is `Send` when its parts
    /// are.
    #[must_use = "a retry does nothing unless awaited"]
    pub struct Retry<
        M: MakeAttempt,
        T: Timer,
        P = &'static RetryPolicy,
        B = &'static RetryBudget,
        W = fn(&<M as MakeAttempt>::Error) -> bool,
        R = fn(&<M as MakeAttempt>::Value) -> bool,
        H = fn(&<M as MakeAttempt>::Error) -> Option<Duration>,
        N = fn(&Notice<'_, <M as MakeAttempt>::Value, <M as MakeAttempt>::Error>),
        O: Observe = (),
    > {
        make: M,
        timer: T,
        policy: P,
        budget: Option<B>,
        // `None`: the default, with no call made.
        when: Option<W>,
        retry_on: Option<R>,
        hint: Option<H>,
        notify: Option<N>,
        // The call's deadline until the first poll, then the instant after which no attempt
        // begins (the earlier of it and the policy's `max_elapsed`).
        stop_at: Instant,
        attempts: u32,
        delays: Option<DelayState>,
        // Whether the future returned `Pending` since the current attempt started: before
        // the next attempt it yields once if it has not.
        yielded: bool,
        // Whether it has given its output.
        done: bool,
        observer: O,
        // When the current attempt started, for the observer (nothing for `()`).
        started: O::Stamp,
        // The running attempt. Each field is dropped only when it holds something, so
        // starting and ending an attempt costs no call into a drop of the sleep.
        #[pin]
        attempt: Option<M::Future>,
        // The attempt timeout's sleep while an attempt runs (armed when it first waits, as
        // `crate::timeout` does, without its error and context), else the delay before the
        // next attempt.
        #[pin]
        sleep: Option<T::Sleep>,
    }
}

/// What to do after an attempt ended with a retryable outcome.
enum Plan {
    Sleep(Instant),
    Again,
    Stop(GiveUpReason),
}

impl<M, T, P, B, W, R, H, N, O> Future for Retry<M, T, P, B, W, R, H, N, O>
where
    O: Observe,
    M: MakeAttempt,
    T: Timer,
    P: Borrow<RetryPolicy>,
    B: Deref<Target = RetryBudget>,
    W: FnMut(&M::Error) -> bool,
    R: FnMut(&M::Value) -> bool,
    H: FnMut(&M::Error) -> Option<Duration>,
    N: FnMut(&Notice<'_, M::Value, M::Error>),
{
    type Output = Result<M::Value, RetryError<M::Error>>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        loop {
            let policy: &RetryPolicy = (*this.policy).borrow();
            let outcome: Result<Result<M::Value, M::Error>, Duration> = if let Some(future) =
                this.attempt.as_mut().as_pin_mut()
            {
                match future.poll(cx) {
                    Poll::Ready(outcome) => Ok(outcome),
                    Poll::Pending => {
                        *this.yielded = true;
                        // Polled before the clock: an attempt ready at its deadline wins.
                        let Some(max) = policy.attempt_timeout else {
                            return Poll::Pending;
                        };
                        if this.sleep.is_none() {
                            this.sleep.set(Some(this.timer.sleep(max)));
                        }
                        if this
                            .sleep
                            .as_mut()
                            .as_pin_mut()
                            .is_some_and(|s| s.poll(cx).is_ready())
                        {
                            Err(max)
                        } else {
                            return Poll::Pending;
                        }
                    }
                }
            } else if let Some(sleep) = this.sleep.as_mut().as_pin_mut() {
                if sleep.poll(cx).is_pending() {
                    *this.yielded = true;
                    return Poll::Pending;
                }
                this.sleep.set(None);
                continue;
            } else {
                if *this.done {
                    panic!("`Retry` polled after completion");
                }
                if *this.attempts == 0 {
                    // First poll: the call starts now. The clock is read only when a
                    // deadline or a budget needs it.
                    let timed = policy.max_elapsed.is_some()
                        || *this.stop_at != Instant::MAX
                        || this.budget.is_some();
                    if timed && !begin(&*this.timer, policy, this.stop_at, this.budget.as_deref()) {
                        *this.done = true;
                        return Poll::Ready(Err(RetryError::not_started()));
                    }
                } else if !*this.yielded {
                    // The previous attempt and its delay (zero, or a sleep that was
                    // over at once) never waited: let the executor, its timers and
                    // other tasks run before the next attempt.
                    *this.yielded = true;
                    cx.waker().wake_by_ref();
                    return Poll::Pending;
                }
                *this.yielded = false;
                *this.attempts = this.attempts.saturating_add(1);
                let attempt = *this.attempts;
                *this.started = this.observer.start(&*this.timer, attempt);
                this.observer.emit(|| Event::AttemptStarted {
                    pattern: "retry",
                    attempt,
                });
                let future = this.make.make_attempt();
                this.attempt.set(Some(future));
                continue;
            };
            // The attempt's future, and its timeout's sleep, are dropped before anything else
            // happens.
            this.attempt.set(None);
            if this.sleep.is_some() {
                this.sleep.set(None);
            }
            let attempt = *this.attempts;
            let (duration, _) = this.observer.since(&*this.timer, *this.started);
            let ok = matches!(outcome, Ok(Ok(_)));
            this.observer.emit(|| Event::AttemptEnded {
                pattern: "retry",
                attempt,
                duration,
                ok,
            });

            let (hint, outcome) = match outcome {
                Ok(Ok(value)) => {
                    if !this
                        .retry_on
                        .as_mut()
                        .is_some_and(|retry_on| retry_on(&value))
                    {
                        *this.done = true;
                        return Poll::Ready(Ok(value));
                    }
                    (None, Ok(Ok(value)))
                }
                Ok(Err(error)) => {
                    if !this.when.as_mut().is_none_or(|when| when(&error)) {
                        *this.done = true;
                        let err = RetryError::failed(error, attempt, GiveUpReason::Permanent);
                        return Poll::Ready(Err(err));
                    }
                    (
                        this.hint.as_mut().and_then(|hint| hint(&error)),
                        Ok(Err(error)),
                    )
                }
                Err(limit) => (None, Err(limit)),
            };

            let next = if attempt >= policy.max_attempts {
                Err(GiveUpReason::AttemptsExhausted)
            } else {
                schedule(
                    policy,
                    this.delays,
                    this.timer.now(),
                    hint,
                    *this.stop_at,
                    this.budget.as_deref(),
                )
            };
            let plan = match next {
                Err(reason) => Plan::Stop(reason),
                Ok((delay, until)) => {
                    let notice = Notice {
                        attempt,
                        outcome: match &outcome {
                            Ok(Ok(value)) => Outcome::Value(value),
                            Ok(Err(error)) => Outcome::Error(error),
                            Err(limit) => Outcome::TimedOut(*limit),
                        },
                        delay,
                    };
                    if let Some(notify) = this.notify.as_mut() {
                        notify(&notice);
                    }
                    this.observer.emit(|| Event::RetryScheduled {
                        attempt,
                        delay: Duration::from_nanos(delay),
                    });
                    if delay == 0 {
                        Plan::Again
                    } else {
                        Plan::Sleep(until)
                    }
                }
            };

            match plan {
                Plan::Stop(reason) => {
                    if reason == GiveUpReason::Budget {
                        this.observer.emit(|| Event::BudgetRefused {
                            pattern: "retry",
                            attempt,
                        });
                    }
                    *this.done = true;
                    return Poll::Ready(match outcome {
                        Ok(Ok(value)) => Ok(value),
                        Ok(Err(error)) => Err(RetryError::failed(error, attempt, reason)),
                        Err(limit) => Err(RetryError::timed_out(limit, attempt, reason)),
                    });
                }
                Plan::Again => {}
                Plan::Sleep(until) => {
                    this.sleep.set(Some(this.timer.sleep_until(until)));
                }
            }
        }
    }
}

/// After a retryable outcome, with attempts left: the delay before the next attempt (in
/// nanoseconds) and the instant it ends, or why the call stops there. The part of the
/// decision that depends on no type of the call: one copy in the image however many calls
/// are retried.
#[inline(never)]
fn schedule(
    policy: &RetryPolicy,
    delays: &mut Option<DelayState>,
    now: Instant,
    hint: Option<Duration>,
    stop_at: Instant,
    budget: Option<&RetryBudget>,
) -> Result<(u64, Instant), GiveUpReason> {
    let delays = delays.get_or_insert_with(|| policy.run_delays(now));
    // In nanoseconds: a `Duration` is built only if the notify hook asks for one (making one
    // divides by 10^9, a library routine on 32-bit microcontrollers). The policy's sequence
    // moves on even when a hint replaces its delay.
    let policy_delay = delays.next_pair(policy).0;
    let delay = hint.map_or(policy_delay, duration_to_nanos);
    let until = Instant::from_nanos(now.as_nanos().saturating_add(delay));
    if until > stop_at {
        Err(GiveUpReason::Deadline)
    } else if budget.is_some_and(|b| !b.try_withdraw(now)) {
        Err(GiveUpReason::Budget)
    } else {
        Ok((delay, until))
    }
}

/// The first poll, when a deadline or a budget needs the clock: fixes the instant after which
/// no attempt begins and credits the budget. `false`: that instant has passed already. It
/// depends on the timer alone, so the image holds one copy for every call retried on it.
#[inline(never)]
fn begin<T: Timer>(
    timer: &T,
    policy: &RetryPolicy,
    stop_at: &mut Instant,
    budget: Option<&RetryBudget>,
) -> bool {
    let now = timer.now();
    if let Some(max) = policy.max_elapsed {
        *stop_at = (*stop_at).min(now.saturating_add(max));
    }
    if now > *stop_at {
        return false;
    }
    if let Some(budget) = budget {
        budget.deposit(now);
    }
    true
}
