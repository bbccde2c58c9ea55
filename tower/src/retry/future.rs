//! The retry layer's attempts and its response future, over the core's [`Retry`].

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use pin_project_lite::pin_project;
use steadfast::Timer;
use steadfast::retry::{MakeAttempt, Retry, RetryBudget, RetryError, RetryPolicy};
use tower_service::Service;

use super::{Rules, Verdict};
use crate::error::{BoxError, Error, boxed};

/// How an attempt that may be retried ended, with the verdict reached on it.
pub(crate) struct Failed<Res> {
    kind: Kind<Res>,
    pub(super) retry: bool,
    pub(super) hint: Option<Duration>,
}

enum Kind<Res> {
    Response(Res),
    Error(BoxError),
}

impl<Res> Failed<Res> {
    fn new(kind: Kind<Res>, verdict: Verdict, last: bool) -> Self {
        let (retry, hint) = match verdict {
            Verdict::Done => (false, None),
            Verdict::Retry => (!last, None),
            Verdict::RetryAfter(after) => (!last, Some(after)),
        };
        Failed { kind, retry, hint }
    }
}

/// The operation the core retries: the first attempt was called at `call`, on the ready
/// service; each later one runs on a clone of it, with a copy of the kept request.
pub(crate) struct Attempts<S: Service<Req>, Req, R> {
    first: Option<S::Future>,
    service: S,
    kept: Option<Req>,
    rules: R,
}

impl<S: Service<Req>, Req, R> Attempts<S, Req, R> {
    pub(super) fn new(first: S::Future, service: S, kept: Req, rules: R) -> Self {
        Attempts {
            first: Some(first),
            service,
            kept: Some(kept),
            rules,
        }
    }
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
        let rules = self.rules.clone();
        if let Some(future) = self.first.take() {
            return Attempt::Calling {
                future,
                rules,
                last: false,
            };
        }
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
        }
    }
}

pin_project! {
    /// One attempt: readiness of its service (retries only), then the call.
    #[project = AttemptProj]
    pub(crate) enum Attempt<S: Service<Req>, Req, R> {
        Readying { service: S, request: Option<Req>, rules: R, last: bool },
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
                } => {
                    if let Err(e) = ready!(service.poll_ready(cx)) {
                        return Poll::Ready(judge(rules, *last, Err(e)));
                    }
                    let request = request.take().expect("an attempt is made once");
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
fn judge<Req, Res, E: Into<BoxError>, R: Rules<Req, Res>>(
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

type When<Res> = fn(&Failed<Res>) -> bool;

/// The core's retry over the attempts, with the budget held as `B`.
type Core<S, Req, T, R, B> =
    Retry<Attempts<S, Req, R>, T, RetryPolicy, B, When<<S as Service<Req>>::Response>>;

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

    pub(super) fn plain(retry: Core<S, Req, T, R, &'static RetryBudget>) -> Self {
        ResponseFuture {
            state: State::Plain { retry },
        }
    }

    pub(super) fn budgeted(retry: Core<S, Req, T, R, Arc<RetryBudget>>) -> Self {
        ResponseFuture {
            state: State::Budgeted { retry },
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
            State::Once { .. } => 1,
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
        Some(Failed {
            kind: Kind::Response(response),
            ..
        }) => Ok(response),
        Some(Failed {
            kind: Kind::Error(error),
            ..
        }) => Err(error),
        None => Err(boxed(match timeout {
            Some(limit) => Error::AttemptTimedOut(limit),
            None => Error::DeadlinePassed,
        })),
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

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().state.project() {
            StateProj::Once { future } => future.poll(cx).map_err(Into::into),
            StateProj::Plain { retry } => retry.poll(cx).map(settle),
            StateProj::Budgeted { retry } => retry.poll(cx).map(settle),
        }
    }
}
