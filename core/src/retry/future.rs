//! The [`Retry`] future and the hooks that decide, for each outcome, whether to retry.

use core::fmt;
use core::future::Future;
use core::ops::Deref;
use core::pin::Pin;
use core::task::{Context, Poll};
use core::time::Duration;

use pin_project_lite::pin_project;

use super::backoff::Delays;
use super::budget::RetryBudget;
use super::error::{GiveUpReason, RetryError};
use super::policy::{AttemptTimeoutMode, NoAttemptTimeout, RetryPolicy};
use crate::time::duration_to_nanos;
use crate::timeout::{Timeout, timeout};
use crate::{Instant, Timer};

/// Decides whether an error is worth another attempt (transient) or not (permanent).
/// Implemented by every `FnMut(&E) -> bool` and by [`AnyError`].
pub trait RetryIf<E> {
    /// `true`: retry (if the policy allows); `false`: give up at once with
    /// [`GiveUpReason::Permanent`].
    fn retry_if(&mut self, error: &E) -> bool;
}

impl<E, F: FnMut(&E) -> bool> RetryIf<E> for F {
    fn retry_if(&mut self, error: &E) -> bool {
        self(error)
    }
}

/// The default error predicate: every error is transient.
#[derive(Clone, Copy, Debug, Default)]
pub struct AnyError;

impl<E> RetryIf<E> for AnyError {
    fn retry_if(&mut self, _: &E) -> bool {
        true
    }
}

/// Decides whether a successful value means "not ready yet, try again". Implemented by every
/// `FnMut(&V) -> bool` and by [`NoValue`].
pub trait RetryOnValue<V> {
    /// `true`: retry (if the policy allows); `false`: return the value.
    fn retry_on(&mut self, value: &V) -> bool;
}

impl<V, F: FnMut(&V) -> bool> RetryOnValue<V> for F {
    fn retry_on(&mut self, value: &V) -> bool {
        self(value)
    }
}

/// The default value predicate: every successful value is final.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoValue;

impl<V> RetryOnValue<V> for NoValue {
    fn retry_on(&mut self, _: &V) -> bool {
        false
    }
}

/// Reads a delay suggested by the error itself (an HTTP `Retry-After`, a rate limiter's
/// reset time). Implemented by every `FnMut(&E) -> Option<Duration>` and by [`NoHint`].
pub trait RetryAfter<E> {
    /// The delay to use before the next attempt instead of the policy's, if the error says.
    fn retry_after(&mut self, error: &E) -> Option<Duration>;
}

impl<E, F: FnMut(&E) -> Option<Duration>> RetryAfter<E> for F {
    fn retry_after(&mut self, error: &E) -> Option<Duration> {
        self(error)
    }
}

/// The default: errors suggest no delay.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoHint;

impl<E> RetryAfter<E> for NoHint {
    fn retry_after(&mut self, _: &E) -> Option<Duration> {
        None
    }
}

/// Called before each sleep between attempts. Implemented by every
/// `FnMut(&Notice<'_, V, E>)` and by [`NoNotify`].
pub trait Notify<V, E> {
    /// Told which attempt failed, how, and how long the sleep before the next one is.
    fn notify(&mut self, notice: &Notice<'_, V, E>);
}

impl<V, E, F: FnMut(&Notice<'_, V, E>)> Notify<V, E> for F {
    fn notify(&mut self, notice: &Notice<'_, V, E>) {
        self(notice)
    }
}

/// The default: no notification.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoNotify;

impl<V, E> Notify<V, E> for NoNotify {
    fn notify(&mut self, _: &Notice<'_, V, E>) {}
}

/// What the notify hook is told before each sleep.
#[derive(Debug)]
pub struct Notice<'a, V, E> {
    attempt: u32,
    outcome: Result<&'a V, &'a E>,
    /// In nanoseconds.
    delay: u64,
}

impl<'a, V, E> Notice<'a, V, E> {
    /// The attempt that just ended (the first call is attempt 1); the next is `attempt + 1`.
    #[must_use]
    pub fn attempt(&self) -> u32 {
        self.attempt
    }

    /// How it ended: an error, or a value the value predicate asked to retry.
    pub fn outcome(&self) -> Result<&'a V, &'a E> {
        self.outcome
    }

    /// The error, if the attempt failed.
    #[must_use]
    pub fn error(&self) -> Option<&'a E> {
        self.outcome.err()
    }

    /// The value, if the attempt succeeded with a value to retry on.
    #[must_use]
    pub fn value(&self) -> Option<&'a V> {
        self.outcome.ok()
    }

    /// The sleep about to start, jitter or Retry-After included.
    #[must_use]
    pub fn delay(&self) -> Duration {
        Duration::from_nanos(self.delay)
    }
}

/// `(|| op()).retry(&policy, &timer)`: retries any `FnMut() -> impl Future<Output =
/// Result<V, E>>` by a [`RetryPolicy`]. See the [module docs](super).
pub trait RetryExt<Fut: Future>: FnMut() -> Fut + Sized {
    /// Makes a [`Retry`] future that calls `self` for each attempt.
    fn retry<'p, A, T: Timer>(
        self,
        policy: &'p RetryPolicy<A>,
        timer: &T,
    ) -> Retry<'p, Self, Fut, T, A> {
        retry(policy, timer, self)
    }
}

impl<F: FnMut() -> Fut, Fut: Future> RetryExt<Fut> for F {}

/// Makes a [`Retry`] future that calls `operation` for each attempt, by `policy`, sleeping on
/// `timer`. Nothing runs until it is polled.
pub fn retry<'p, F, Fut, A, T>(
    policy: &'p RetryPolicy<A>,
    timer: &T,
    operation: F,
) -> Retry<'p, F, Fut, T, A>
where
    F: FnMut() -> Fut,
    Fut: Future,
    T: Timer,
{
    Retry {
        operation,
        timer: timer.clone(),
        policy,
        retry_if: AnyError,
        retry_on: NoValue,
        hint: NoHint,
        notify: NoNotify,
        budget: None,
        deadline: None,
        stop_at: Instant::MAX,
        attempts: 0,
        delays: None,
        yielded: false,
        state: State::Idle,
    }
}

pin_project! {
    #[project = StateProj]
    enum State<Fut, Timed, Sleep> {
        Idle,
        Running { #[pin] future: Fut },
        Timed { #[pin] future: Timed },
        Sleeping { #[pin] sleep: Sleep },
        Done,
    }
}

pin_project! {
    /// The future of a call with retries: made by [`retry`] or [`RetryExt::retry`], adjusted
    /// with the builder methods below, then awaited.
    ///
    /// Its output is `Ok(value)` once an attempt succeeds with a value the value predicate
    /// accepts (or when retrying a value stops: the last value is returned), or
    /// `Err(`[`RetryError`]`)` with the last error, the attempt count and the
    /// [`GiveUpReason`].
    ///
    /// Dropping it at any point cancels the call: the running attempt is dropped, or the
    /// sleep, and no further attempt starts. It allocates nothing and is `Send` when the
    /// operation, its future, the timer, the hooks and the budget pointer are.
    #[must_use = "a retry does nothing unless awaited"]
    pub struct Retry<'p, F, Fut, T: Timer, A = NoAttemptTimeout, P = AnyError, R = NoValue, H = NoHint, N = NoNotify, B = &'static RetryBudget> {
        operation: F,
        timer: T,
        policy: &'p RetryPolicy<A>,
        retry_if: P,
        retry_on: R,
        hint: H,
        notify: N,
        budget: Option<B>,
        deadline: Option<Instant>,
        stop_at: Instant,
        attempts: u32,
        delays: Option<Delays>,
        // Whether the future returned `Pending` since the current attempt started: before
        // the next attempt it yields once if it has not.
        yielded: bool,
        #[pin]
        state: State<Fut, Timeout<Fut, T>, T::Sleep>,
    }
}

impl<'p, F, Fut, T: Timer, A, P, R, H, N, B> Retry<'p, F, Fut, T, A, P, R, H, N, B> {
    #[allow(clippy::type_complexity)]
    fn map_hooks<P2, R2, H2, N2, B2>(
        self,
        f: impl FnOnce((P, R, H, N, Option<B>)) -> (P2, R2, H2, N2, Option<B2>),
    ) -> Retry<'p, F, Fut, T, A, P2, R2, H2, N2, B2> {
        let (retry_if, retry_on, hint, notify, budget) = f((
            self.retry_if,
            self.retry_on,
            self.hint,
            self.notify,
            self.budget,
        ));
        Retry {
            operation: self.operation,
            timer: self.timer,
            policy: self.policy,
            retry_if,
            retry_on,
            hint,
            notify,
            budget,
            deadline: self.deadline,
            stop_at: self.stop_at,
            attempts: self.attempts,
            delays: self.delays,
            yielded: self.yielded,
            state: self.state,
        }
    }
}

impl<'p, F, Fut, T, A, P, R, H, N, B, V, E> Retry<'p, F, Fut, T, A, P, R, H, N, B>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<V, E>>,
    T: Timer,
{
    /// Retries only errors for which `predicate` returns `true` (transient ones); any other
    /// error ends the call at once with [`GiveUpReason::Permanent`]. By default every error is
    /// retried.
    pub fn when<P2: FnMut(&E) -> bool>(
        self,
        predicate: P2,
    ) -> Retry<'p, F, Fut, T, A, P2, R, H, N, B> {
        self.map_hooks(|(_, r, h, n, b)| (predicate, r, h, n, b))
    }

    /// Also retries successful values for which `predicate` returns `true` ("not ready
    /// yet"). When retrying such a value stops (attempts, deadline or budget), the last value
    /// is returned as `Ok`.
    pub fn retry_on_value<R2: FnMut(&V) -> bool>(
        self,
        predicate: R2,
    ) -> Retry<'p, F, Fut, T, A, P, R2, H, N, B> {
        self.map_hooks(|(p, _, h, n, b)| (p, predicate, h, n, b))
    }

    /// Lets the error suggest the delay before the next attempt (Retry-After). A suggested
    /// delay replaces the policy's delay for that retry, without jitter and without the
    /// `max_delay` cap; the deadline still holds: if the suggested sleep would end past it,
    /// the call gives up with [`GiveUpReason::Deadline`].
    pub fn retry_after<H2: FnMut(&E) -> Option<Duration>>(
        self,
        hint: H2,
    ) -> Retry<'p, F, Fut, T, A, P, R, H2, N, B> {
        self.map_hooks(|(p, r, _, n, b)| (p, r, hint, n, b))
    }

    /// Calls `notify` before each sleep with the attempt that ended, its error (or value) and
    /// the delay: the place for a log line.
    pub fn notify<N2: FnMut(&Notice<'_, V, E>)>(
        self,
        notify: N2,
    ) -> Retry<'p, F, Fut, T, A, P, R, H, N2, B> {
        self.map_hooks(|(p, r, h, _, b)| (p, r, h, notify, b))
    }

    /// Shares a [`RetryBudget`] with other callers: this call deposits one call at its first
    /// poll, and each retry must be withdrawn from the budget first; when none is left the call
    /// gives up with [`GiveUpReason::Budget`] and the last error. `budget` is anything that
    /// dereferences to the budget: `&RetryBudget` (a `static`), `Arc<RetryBudget>`.
    pub fn budget<B2: Deref<Target = RetryBudget>>(
        self,
        budget: B2,
    ) -> Retry<'p, F, Fut, T, A, P, R, H, N, B2> {
        self.map_hooks(|(p, r, h, n, _)| (p, r, h, n, Some(budget)))
    }

    /// A deadline for this call, on `timer`'s clock, in addition to the policy's
    /// [`max_elapsed`](super::RetryPolicyBuilder::max_elapsed) (the earlier one holds), with
    /// the same stop-before-deadline rule.
    pub fn deadline(mut self, deadline: Instant) -> Self {
        self.deadline = Some(deadline);
        self
    }

    /// How many attempts have been started so far.
    #[must_use]
    pub fn attempts(&self) -> u32 {
        self.attempts
    }
}

impl<'p, F, Fut, T: Timer, A, P, R, H, N, B> fmt::Debug for Retry<'p, F, Fut, T, A, P, R, H, N, B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Retry")
            .field("policy", &self.policy)
            .field("attempts", &self.attempts)
            .field("deadline", &self.deadline)
            .finish_non_exhaustive()
    }
}

/// What to do after an attempt ended with a retryable outcome.
enum Plan {
    Sleep(Instant),
    Again,
    Stop(GiveUpReason),
}

impl<'p, F, Fut, T, A, P, R, H, N, B, V, E> Future for Retry<'p, F, Fut, T, A, P, R, H, N, B>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<V, E>>,
    T: Timer,
    A: AttemptTimeoutMode<E>,
    P: RetryIf<E>,
    R: RetryOnValue<V>,
    H: RetryAfter<E>,
    N: Notify<V, E>,
    B: Deref<Target = RetryBudget>,
{
    type Output = Result<V, RetryError<E>>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        loop {
            let outcome = match this.state.as_mut().project() {
                StateProj::Idle => {
                    if *this.attempts == 0 {
                        // First poll: the call starts now.
                        let timed = this.policy.max_elapsed.is_some() || this.budget.is_some();
                        if timed {
                            let now = this.timer.now();
                            if let Some(max) = this.policy.max_elapsed {
                                *this.stop_at = now.saturating_add(max);
                            }
                            if let Some(budget) = this.budget.as_ref() {
                                budget.deposit(now);
                            }
                        }
                        if let Some(deadline) = *this.deadline {
                            *this.stop_at = (*this.stop_at).min(deadline);
                        }
                    } else if !*this.yielded {
                        // The previous attempt and its delay (zero, or a sleep that was over
                        // at once) never waited: let the executor, its timers and other tasks
                        // run before the next attempt.
                        *this.yielded = true;
                        cx.waker().wake_by_ref();
                        return Poll::Pending;
                    }
                    *this.yielded = false;
                    *this.attempts = this.attempts.saturating_add(1);
                    let future = (this.operation)();
                    match this.policy.attempt_timeout {
                        Some(limit) => this.state.set(State::Timed {
                            future: timeout(&*this.timer, limit, future),
                        }),
                        None => this.state.set(State::Running { future }),
                    }
                    continue;
                }
                StateProj::Running { future } => match future.poll(cx) {
                    Poll::Ready(outcome) => outcome,
                    Poll::Pending => {
                        *this.yielded = true;
                        return Poll::Pending;
                    }
                },
                StateProj::Timed { future } => match future.poll(cx) {
                    Poll::Ready(Ok(outcome)) => outcome,
                    Poll::Ready(Err(elapsed)) => Err(A::timed_out(elapsed)),
                    Poll::Pending => {
                        *this.yielded = true;
                        return Poll::Pending;
                    }
                },
                StateProj::Sleeping { sleep } => {
                    if sleep.poll(cx).is_pending() {
                        *this.yielded = true;
                        return Poll::Pending;
                    }
                    this.state.set(State::Idle);
                    continue;
                }
                StateProj::Done => panic!("`Retry` polled after completion"),
            };
            // The attempt's future is dropped before anything else happens.
            this.state.set(State::Idle);
            let attempt = *this.attempts;

            let (hint, outcome) = match outcome {
                Ok(value) => {
                    if !this.retry_on.retry_on(&value) {
                        this.state.set(State::Done);
                        return Poll::Ready(Ok(value));
                    }
                    (None, Ok(value))
                }
                Err(error) => {
                    if !this.retry_if.retry_if(&error) {
                        this.state.set(State::Done);
                        let err = RetryError::new(error, attempt, GiveUpReason::Permanent);
                        return Poll::Ready(Err(err));
                    }
                    let hint = this.hint.retry_after(&error);
                    (hint, Err(error))
                }
            };

            let plan = if attempt >= this.policy.max_attempts {
                Plan::Stop(GiveUpReason::AttemptsExhausted)
            } else {
                let now = this.timer.now();
                let delays = this
                    .delays
                    .get_or_insert_with(|| this.policy.run_delays(now));
                // In nanoseconds: a `Duration` is built only if the notify hook asks for one
                // (making one divides by 10^9, a library routine on 32-bit microcontrollers).
                let policy_delay = delays.next_pair().0;
                let delay = hint.map_or(policy_delay, duration_to_nanos);
                let until = Instant::from_nanos(now.as_nanos().saturating_add(delay));
                if until > *this.stop_at {
                    Plan::Stop(GiveUpReason::Deadline)
                } else if this.budget.as_ref().is_some_and(|b| !b.try_withdraw(now)) {
                    Plan::Stop(GiveUpReason::Budget)
                } else {
                    let notice = Notice {
                        attempt,
                        outcome: outcome.as_ref(),
                        delay,
                    };
                    this.notify.notify(&notice);
                    if delay == 0 {
                        Plan::Again
                    } else {
                        Plan::Sleep(until)
                    }
                }
            };

            match plan {
                Plan::Stop(reason) => {
                    this.state.set(State::Done);
                    return Poll::Ready(match outcome {
                        Ok(value) => Ok(value),
                        Err(error) => Err(RetryError::new(error, attempt, reason)),
                    });
                }
                Plan::Again => {}
                Plan::Sleep(until) => {
                    let sleep = this.timer.sleep_until(until);
                    this.state.set(State::Sleeping { sleep });
                }
            }
        }
    }
}
