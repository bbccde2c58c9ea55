//! The retry layer's attempts and its response future, over the core's [`Retry`].

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use pin_project_lite::pin_project;
use steadfast::retry::{MakeAttempt, Retry, RetryBudget, RetryError, RetryPolicy};
use steadfast::{Instant, Timer};
use tower_service::Service;

use super::{Rules, Verdict};
use crate::error::{BoxError, Error, boxed};

/// How an attempt that may be retried ended, with the verdict reached on it.
pub(crate) struct Failed<Res> {
    kind: Kind<Res>,
    retry: bool,
    hint: Option<Duration>,
}

pub(crate) enum Kind<Res> {
    Response(Res),
    Error(BoxError),
}

impl<Res> Failed<Res> {
    pub(crate) fn new(kind: Kind<Res>, verdict: Verdict, last: bool) -> Self {
        let (retry, hint) = match verdict {
            Verdict::Done => (false, None),
            Verdict::Retry => (!last, None),
            Verdict::RetryAfter(after) => (!last, Some(after)),
        };
        Failed { kind, retry, hint }
    }
}

/// The operation the core retries once the first attempt has failed: that attempt (called
/// at `call`, on the ready service, and polled by the response future itself) is handed in
/// as settled; each later one runs on a clone of the service, with a copy of the kept request.
pub(crate) struct Attempts<S: Service<Req>, Req, R> {
    settled: Option<Failed<S::Response>>,
    service: S,
    kept: Option<Req>,
    rules: R,
}

impl<S, Req, R> MakeAttempt for Attempts<S, Req, R>
where
    S: Service<Req> + Clone,
    S::Error: Into<BoxError>,
    R: Rules<Req, S::Response> + Clone,
{
    type Value = S::Response;
    type Error = Failed<S::Response>;
    type Future = Attempt<S, Req, R>;

    fn make_attempt(&mut self) -> Self::Future {
        if let Some(failed) = self.settled.take() {
            return Attempt::Settled {
                failed: Some(failed),
            };
        }
        let rules = self.rules.clone();
        // A copy of the kept request; should the rules give none now, the kept one itself
        // goes, and no attempt follows it.
        let (request, last) = match self.kept.as_ref().and_then(|k| rules.clone_request(k)) {
            Some(copy) => (Some(copy), false),
            None => (self.kept.take(), true),
        };
        Attempt::Readying {
            service: self.service.clone(),
            request,
            rules,
            last,
            ready: false,
        }
    }
}

pin_project! {
    /// One attempt: readiness of its service (retries only), then the call.
    #[project = AttemptProj]
    pub(crate) enum Attempt<S: Service<Req>, Req, R> {
        Settled { failed: Option<Failed<S::Response>> },
        // `ready`: the service was polled ready already (a first attempt made later).
        Readying { service: S, request: Option<Req>, rules: R, last: bool, ready: bool },
        Calling { #[pin] future: S::Future, rules: R, last: bool },
    }
}

impl<S, Req, R> Future for Attempt<S, Req, R>
where
    S: Service<Req>,
    S::Error: Into<BoxError>,
    R: Rules<Req, S::Response> + Clone,
{
    type Output = Result<S::Response, Failed<S::Response>>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        loop {
            let next = match self.as_mut().project() {
                AttemptProj::Settled { failed } => {
                    return Poll::Ready(Err(failed.take().expect("an attempt is made once")));
                }
                AttemptProj::Calling {
                    future,
                    rules,
                    last,
                } => return Poll::Ready(judge(rules, *last, ready!(future.poll(cx)))),
                AttemptProj::Readying {
                    service,
                    request,
                    rules,
                    last,
                    ready,
                } => {
                    if !*ready {
                        if let Err(e) = ready!(service.poll_ready(cx)) {
                            return Poll::Ready(judge(rules, *last, Err(e)));
                        }
                    }
                    // None only when the rules gave no copy of the kept request for an earlier
                    // attempt: this one has nothing to send (a hedge never started).
                    let Some(request) = request.take() else {
                        return Poll::Pending;
                    };
                    Attempt::Calling {
                        future: service.call(request),
                        rules: rules.clone(),
                        last: *last,
                    }
                }
            };
            self.set(next);
        }
    }
}

/// The verdict on one attempt's outcome.
pub(crate) fn judge<Req, Res, E: Into<BoxError>, R: Rules<Req, Res>>(
    rules: &R,
    last: bool,
    outcome: Result<Res, E>,
) -> Result<Res, Failed<Res>> {
    match outcome {
        Ok(response) => match rules.retry_response(&response) {
            Verdict::Done => Ok(response),
            verdict => Err(Failed::new(Kind::Response(response), verdict, last)),
        },
        Err(error) => {
            let error = error.into();
            let verdict = rules.retry_error(&error);
            Err(Failed::new(Kind::Error(error), verdict, last))
        }
    }
}

pub(crate) type When<Res> = fn(&Failed<Res>) -> bool;

/// The core's retry over the attempts, with the budget held as `B`.
type Core<S, Req, T, R, B> =
    Retry<Attempts<S, Req, R>, T, Arc<RetryPolicy>, B, When<<S as Service<Req>>::Response>>;

pin_project! {
    #[project = StateProj]
    enum State<S, Req, T: Timer, R>
    where
        S: Service<Req>,
        S: Clone,
        S::Error: Into<BoxError>,
        R: Rules<Req, S::Response>,
        R: Clone,
    {
        Once { #[pin] future: S::Future },
        // The first attempt, and the policy's attempt timeout on it, armed if it has to wait.
        First {
            #[pin] future: S::Future,
            #[pin] limit: Option<T::Sleep>,
            setup: Option<Setup<S, Req, T, R>>,
        },
        Plain { #[pin] retry: Core<S, Req, T, R, &'static RetryBudget> },
        Budgeted { #[pin] retry: Core<S, Req, T, R, Arc<RetryBudget>> },
    }
}

pin_project! {
    /// The response future of a [`RetryService`](super::RetryService): the call with its
    /// retries. No allocation of its own; dropping it cancels the running attempt or sleep.
    #[must_use = "futures do nothing unless polled"]
    pub struct ResponseFuture<S, Req, T: Timer, R>
    where
        S: Service<Req>,
        S: Clone,
        S::Error: Into<BoxError>,
        R: Rules<Req, S::Response>,
        R: Clone,
    {
        #[pin]
        state: State<S, Req, T, R>,
    }
}

impl<S, Req, T, R> ResponseFuture<S, Req, T, R>
where
    S: Service<Req> + Clone,
    S::Error: Into<BoxError>,
    T: Timer,
    R: Rules<Req, S::Response> + Clone,
{
    pub(super) fn once(future: S::Future) -> Self {
        ResponseFuture {
            state: State::Once { future },
        }
    }

    pub(super) fn first(future: S::Future, setup: Setup<S, Req, T, R>) -> Self {
        ResponseFuture {
            state: State::First {
                future,
                limit: None,
                setup: Some(setup),
            },
        }
    }
}

impl<S, Req, T, R> fmt::Debug for ResponseFuture<S, Req, T, R>
where
    S: Service<Req> + Clone,
    S::Error: Into<BoxError>,
    T: Timer,
    R: Rules<Req, S::Response> + Clone,
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let attempts = match &self.state {
            State::Once { .. } | State::First { .. } => 1,
            State::Plain { retry } => retry.attempts(),
            State::Budgeted { retry } => retry.attempts(),
        };
        f.debug_struct("ResponseFuture")
            .field("attempts", &attempts)
            .finish_non_exhaustive()
    }
}

/// The caller's answer when retrying ends: the last response or the last error, unchanged.
fn settle<Res>(out: Result<Res, RetryError<Failed<Res>>>) -> Result<Res, BoxError> {
    let err = match out {
        Ok(response) => return Ok(response),
        Err(err) => err,
    };
    let timeout = err.timeout();
    match err.into_error() {
        Some(failed) => give_up(failed),
        None => Err(boxed(match timeout {
            Some(limit) => Error::AttemptTimedOut(limit),
            None => Error::DeadlinePassed,
        })),
    }
}

/// The last attempt's own answer: its response, or its error.
pub(crate) fn give_up<Res>(failed: Failed<Res>) -> Result<Res, BoxError> {
    match failed.kind {
        Kind::Response(response) => Ok(response),
        Kind::Error(error) => Err(error),
    }
}

/// What a call needs for its retries, kept beside its first attempt.
pub(crate) struct Setup<S, Req, T, R> {
    pub(super) service: S,
    pub(super) kept: Req,
    pub(super) rules: R,
    pub(super) timer: T,
    pub(super) policy: Arc<RetryPolicy>,
    pub(super) budget: Option<Arc<RetryBudget>>,
    /// The call's deadline, if the policy has `max_elapsed`: counted from the first poll, and
    /// read only once the first attempt has to wait. An attempt that ends in its first poll
    /// took no time, and the core's retry counts the deadline of its retries from there.
    pub(super) deadline: Option<Instant>,
}

impl<S, Req, T: Timer, R> Setup<S, Req, T, R> {
    /// The first attempt has to wait: the deadline counts from now.
    fn start(&mut self) {
        if self.deadline.is_none() {
            if let Some(max) = self.policy.max_elapsed() {
                self.deadline = Some(self.timer.now().saturating_add(max));
            }
        }
    }

    /// The call counts in the budget once: here when it needs no retry, else in the core's
    /// retry, which deposits at its first poll.
    fn deposit(&self) {
        if let Some(budget) = &self.budget {
            budget.deposit(self.timer.now());
        }
    }
}

impl<S, Req, T, R> Future for ResponseFuture<S, Req, T, R>
where
    S: Service<Req> + Clone,
    S::Error: Into<BoxError>,
    T: Timer,
    R: Rules<Req, S::Response> + Clone,
{
    type Output = Result<S::Response, BoxError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        loop {
            let mut state = self.as_mut().project().state;
            let retry = match state.as_mut().project() {
                StateProj::Once { future } => return future.poll(cx).map_err(Into::into),
                StateProj::Plain { retry } => return retry.poll(cx).map(settle),
                StateProj::Budgeted { retry } => return retry.poll(cx).map(settle),
                StateProj::First {
                    future,
                    mut limit,
                    setup,
                } => {
                    let s = setup
                        .as_mut()
                        .expect("`ResponseFuture` polled after completion");
                    let failed = match future.poll(cx) {
                        // Judged in place: a success moves nothing out of the future.
                        Poll::Ready(out) => match judge(&s.rules, false, out) {
                            Ok(response) => {
                                s.deposit();
                                *setup = None;
                                return Poll::Ready(Ok(response));
                            }
                            Err(failed) => failed,
                        },
                        Poll::Pending => {
                            s.start();
                            let Some(max) = s.policy.attempt_timeout() else {
                                return Poll::Pending;
                            };
                            if limit.is_none() {
                                limit.set(Some(s.timer.sleep(max)));
                            }
                            let over = limit.as_pin_mut().is_some_and(|l| l.poll(cx).is_ready());
                            if !over {
                                return Poll::Pending;
                            }
                            timed_out(max)
                        }
                    };
                    let s = setup.take().expect("set above");
                    if !failed.retry || s.deadline.is_some_and(|d| s.timer.now() > d) {
                        s.deposit();
                        return Poll::Ready(give_up(failed));
                    }
                    retry_state(s, failed)
                }
            };
            state.set(retry);
        }
    }
}

/// The core's retry, taking over after a first attempt that is to be retried.
fn retry_state<S, Req, T, R>(
    s: Setup<S, Req, T, R>,
    failed: Failed<S::Response>,
) -> State<S, Req, T, R>
where
    S: Service<Req> + Clone,
    S::Error: Into<BoxError>,
    T: Timer,
    R: Rules<Req, S::Response> + Clone,
{
    let attempts = Attempts {
        settled: Some(failed),
        service: s.service,
        kept: Some(s.kept),
        rules: s.rules,
    };
    let when: When<S::Response> = retryable::<S::Response>;
    let hint: fn(&Failed<S::Response>) -> Option<Duration> = hint::<S::Response>;
    let mut retry = attempts
        .retry(s.policy, &s.timer)
        .when(when)
        .retry_after(hint);
    if let Some(deadline) = s.deadline {
        retry = retry.deadline(deadline);
    }
    match s.budget {
        None => State::Plain { retry },
        Some(budget) => State::Budgeted {
            retry: retry.budget(budget),
        },
    }
}

/// A first attempt past the policy's attempt timeout, as the core counts one: dropped, and
/// retried whatever the rules say; the answer if no retry follows.
fn timed_out<Res>(limit: Duration) -> Failed<Res> {
    Failed {
        kind: Kind::Error(boxed(Error::AttemptTimedOut(limit))),
        retry: true,
        hint: None,
    }
}

/// The hooks handed to the core's retry: the verdict was reached in the attempt.
pub(crate) fn retryable<Res>(failed: &Failed<Res>) -> bool {
    failed.retry
}

pub(crate) fn hint<Res>(failed: &Failed<Res>) -> Option<Duration> {
    failed.hint
}
