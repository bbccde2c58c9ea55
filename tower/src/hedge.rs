//! [`HedgeLayer`]: when a response is slow, send the request again beside it, and take the
//! first answer; by a [`HedgePolicy`] (attempts at once, delays, deadline), within a shared
//! [`RetryBudget`].
//!
//! Hedge only requests that are safe to run more than once at the same time (idempotent
//! reads): a losing attempt's response future is dropped, but what it did downstream is not
//! undone. The cloning rule is the [`retry`](crate::retry) layer's: a request the [`Rules`]
//! give no copy of is sent once, never hedged ([`HttpRules`](crate::retry::HttpRules) copies
//! only idempotent methods).
//!
//! The first attempt is sent on the service that `poll_ready` made ready; each hedge runs on
//! a clone, polled ready first (so a bulkhead or limit inside the hedge makes each attempt wait
//! its turn). A response or error the rules would retry is a non-fatal failure: the next
//! hedge starts at once (after its `Retry-After`, when it has one). An error the rules do not
//! retry is fatal: every attempt in flight is dropped and the error is the answer. The first
//! other response wins, and the rest are dropped in the same poll.
//!
//! ```
//! use std::time::Duration;
//! use steadfast::hedge::HedgePolicy;
//! use steadfast_tokio::TokioTimer;
//! use steadfast_tower::hedge::HedgeLayer;
//! use tower::{ServiceBuilder, ServiceExt, service_fn};
//!
//! # #[tokio::main(flavor = "current_thread", start_paused = true)]
//! # async fn main() {
//! let policy = HedgePolicy::builder().max_attempts(2).delay(Duration::from_millis(50)).build().unwrap();
//! let svc = ServiceBuilder::new()
//!     .layer(HedgeLayer::new(TokioTimer::new(), policy))
//!     .service(service_fn(|x: u32| async move { Ok::<_, std::convert::Infallible>(x * 2) }));
//! assert_eq!(svc.oneshot(21).await.unwrap(), 42);
//! # }
//! ```

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use pin_project_lite::pin_project;
use steadfast::Timer;
use steadfast::hedge::{Hedge, HedgeError, HedgePolicy};
use steadfast::retry::RetryBudget;
use tower_layer::Layer;
use tower_service::Service;

use crate::error::{BoxError, Error, boxed};
use crate::pipeline::Attempts;
use crate::retry::Rules;
use crate::retry::future::{Failed, When, give_up, hint, retryable};

/// Hedges the requests of the services it wraps. See the [module docs](self).
#[derive(Clone, Debug)]
pub struct HedgeLayer<T, R = ()> {
    timer: T,
    policy: HedgePolicy,
    budget: Option<Arc<RetryBudget>>,
    rules: R,
}

impl<T: Timer> HedgeLayer<T> {
    /// Hedges by `policy`, on `timer`'s clock, with the default [`Rules`] (`()`: any
    /// `Req: Clone` is copied).
    pub const fn new(timer: T, policy: HedgePolicy) -> Self {
        HedgeLayer {
            timer,
            policy,
            budget: None,
            rules: (),
        }
    }
}

impl<T, R> HedgeLayer<T, R> {
    /// Throttles the hedges by `budget`, shared with every service of this layer (and with
    /// retries that use it): each call deposits one call, each hedge withdraws one.
    #[must_use]
    pub fn budget(mut self, budget: Arc<RetryBudget>) -> Self {
        self.budget = Some(budget);
        self
    }

    /// Decides with `rules` which requests are copied and which outcomes are failures.
    pub fn rules<R2>(self, rules: R2) -> HedgeLayer<T, R2> {
        HedgeLayer {
            timer: self.timer,
            policy: self.policy,
            budget: self.budget,
            rules,
        }
    }
}

impl<S, T: Timer, R: Clone> Layer<S> for HedgeLayer<T, R> {
    type Service = HedgeService<S, T, R>;

    fn layer(&self, inner: S) -> Self::Service {
        HedgeService {
            inner,
            layer: self.clone(),
        }
    }
}

/// The service of a [`HedgeLayer`]. Clones share the budget.
#[derive(Clone)]
pub struct HedgeService<S, T, R = ()> {
    inner: S,
    layer: HedgeLayer<T, R>,
}

impl<S, T, R> HedgeService<S, T, R> {
    /// The wrapped service.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// The wrapped service, mutably.
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.inner
    }
}

impl<S: fmt::Debug, T, R> fmt::Debug for HedgeService<S, T, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HedgeService")
            .field("inner", &self.inner)
            .field("policy", &self.layer.policy)
            .finish_non_exhaustive()
    }
}

type Core<S, Req, T, R, B> = Hedge<
    Attempts<S, Req, R>,
    T,
    B,
    When<<S as Service<Req>>::Response>,
    fn(&Failed<<S as Service<Req>>::Response>) -> Option<Duration>,
>;

impl<S, T, R, Req> Service<Req> for HedgeService<S, T, R>
where
    S: Service<Req> + Clone,
    S::Error: Into<BoxError>,
    T: Timer,
    R: Rules<Req, S::Response> + Clone,
{
    type Response = S::Response;
    type Error = BoxError;
    type Future = ResponseFuture<S, Req, T, R>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, req: Req) -> Self::Future {
        let layer = &self.layer;
        let Some(kept) = layer.rules.clone_request(&req) else {
            return ResponseFuture {
                state: State::Once {
                    future: self.inner.call(req),
                },
            };
        };
        // The ready service goes with the first attempt; this one must be polled ready anew.
        let unready = self.inner.clone();
        let ready = std::mem::replace(&mut self.inner, unready);
        let attempts = Attempts::new(ready, req, kept, layer.rules.clone());
        let when: When<S::Response> = retryable::<S::Response>;
        let hint: fn(&Failed<S::Response>) -> Option<Duration> = hint::<S::Response>;
        let hedge = layer
            .policy
            .run(&layer.timer, attempts)
            .when(when)
            .retry_after(hint);
        let state = match &layer.budget {
            None => State::Plain { hedge },
            Some(budget) => State::Budgeted {
                hedge: hedge.budget(Arc::clone(budget)),
            },
        };
        ResponseFuture { state }
    }
}

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
        Plain { #[pin] hedge: Core<S, Req, T, R, &'static RetryBudget> },
        Budgeted { #[pin] hedge: Core<S, Req, T, R, Arc<RetryBudget>> },
    }
}

pin_project! {
    /// The response future of a [`HedgeService`]: the first answer among the attempts. No
    /// allocation of its own; dropping it drops every attempt in flight.
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
            State::Plain { hedge } => hedge.attempts(),
            State::Budgeted { hedge } => hedge.attempts(),
        };
        f.debug_struct("ResponseFuture")
            .field("attempts", &attempts)
            .finish_non_exhaustive()
    }
}

fn settle<Res>(out: Result<Res, HedgeError<Failed<Res>>>) -> Result<Res, BoxError> {
    match out {
        Ok(response) => Ok(response),
        Err(err) => match err.into_error() {
            Some(failed) => give_up(failed),
            None => Err(boxed(Error::DeadlinePassed)),
        },
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
            StateProj::Plain { hedge } => hedge.poll(cx).map(settle),
            StateProj::Budgeted { hedge } => hedge.poll(cx).map(settle),
        }
    }
}
