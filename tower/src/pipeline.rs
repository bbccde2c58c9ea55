//! [`PipelineLayer`]: a whole [`Pipeline`] (total timeout → retry with budget → circuit
//! breaker → rate limiter → bulkhead → attempt timeout, in the core's checked order) as one
//! layer.
//!
//! The pipeline's stages are `static`s (the pipeline holds them by reference, and a response
//! future must own what it uses): build them with `build_const`, or leak a pipeline built at
//! run time (`Box::leak`) once at startup.
//!
//! Admission happens inside the response future, per attempt, in the pipeline's order: the
//! layer is ready when the inner service is, reserves nothing in `poll_ready`, and every
//! refusal (an open circuit, a rate limit, a full bulkhead, a timeout) is an error response
//! from the call, an [`Error`], never a readiness error. Bound the waits for a cell or a
//! permit with the builder's `limiter_within` and `bulkhead_within`.
//!
//! The first attempt is sent on the service that `poll_ready` made ready, once the stages let
//! it through: an open circuit answers without calling the inner service. Which requests are
//! retried, and which responses and errors, follows the [`Rules`] as in the
//! [`retry`](crate::retry) layer: a request that cannot be copied gets one attempt (still
//! under the breaker, the limiter, the bulkhead and the timeouts). The breaker counts an
//! attempt as a failure when it ends in an error or in a response the rules would retry.
//!
//! ```
//! use std::time::Duration;
//! use steadfast::breaker::CircuitBreaker;
//! use steadfast::bulkhead::Bulkhead;
//! use steadfast::pipeline::Pipeline;
//! use steadfast::retry::RetryPolicy;
//! use steadfast_tokio::TokioTimer;
//! use steadfast_tower::pipeline::PipelineLayer;
//! use tower::{ServiceBuilder, ServiceExt, service_fn};
//!
//! static BREAKER: CircuitBreaker = CircuitBreaker::builder().consecutive_failures(5).build_const();
//! static BULKHEAD: Bulkhead = Bulkhead::new(16);
//! static UPSTREAM: Pipeline<'static> = Pipeline::builder()
//!     .total_timeout(Duration::from_secs(10))
//!     .retry(RetryPolicy::builder().max_attempts(3).constant(Duration::from_millis(100)).build_const())
//!     .breaker(&BREAKER)
//!     .bulkhead(&BULKHEAD)
//!     .attempt_timeout(Duration::from_secs(2))
//!     .build_const();
//!
//! # #[tokio::main(flavor = "current_thread", start_paused = true)]
//! # async fn main() {
//! let svc = ServiceBuilder::new()
//!     .layer(PipelineLayer::new(&UPSTREAM, TokioTimer::new()))
//!     .service(service_fn(|x: u32| async move { Ok::<_, std::convert::Infallible>(x + 1) }));
//! assert_eq!(svc.oneshot(41).await.unwrap(), 42);
//! # }
//! ```

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use pin_project_lite::pin_project;
use steadfast::Timer;
use steadfast::breaker::Outcome;
use steadfast::pipeline::{Call, Pipeline, PipelineError};
use steadfast::retry::MakeAttempt;
use tower_layer::Layer;
use tower_service::Service;

use crate::error::{BoxError, Error, boxed};
use crate::retry::Rules;
use crate::retry::future::{Attempt, Failed, When, give_up, hint, retryable};

/// Runs the requests of the services it wraps through one `static` [`Pipeline`]. See the
/// [module docs](self).
#[derive(Clone, Debug)]
pub struct PipelineLayer<T, R = ()> {
    pipeline: &'static Pipeline<'static>,
    timer: T,
    rules: R,
}

impl<T: Timer> PipelineLayer<T> {
    /// Every call goes through `pipeline`, on `timer`'s clock, with the default [`Rules`]
    /// (`()`: any `Req: Clone` is copied for retries).
    pub const fn new(pipeline: &'static Pipeline<'static>, timer: T) -> Self {
        PipelineLayer {
            pipeline,
            timer,
            rules: (),
        }
    }
}

impl<T, R> PipelineLayer<T, R> {
    /// Decides with `rules` which requests are copied and which outcomes are retried.
    pub fn rules<R2>(self, rules: R2) -> PipelineLayer<T, R2> {
        PipelineLayer {
            pipeline: self.pipeline,
            timer: self.timer,
            rules,
        }
    }
}

impl<S, T: Timer, R: Clone> Layer<S> for PipelineLayer<T, R> {
    type Service = PipelineService<S, T, R>;

    fn layer(&self, inner: S) -> Self::Service {
        PipelineService {
            inner,
            layer: self.clone(),
        }
    }
}

/// The service of a [`PipelineLayer`]. Clones share the pipeline's stages.
#[derive(Clone)]
pub struct PipelineService<S, T, R = ()> {
    inner: S,
    layer: PipelineLayer<T, R>,
}

impl<S, T, R> PipelineService<S, T, R> {
    /// The wrapped service.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// The wrapped service, mutably.
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.inner
    }
}

impl<S: fmt::Debug, T, R> fmt::Debug for PipelineService<S, T, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PipelineService")
            .field("inner", &self.inner)
            .finish_non_exhaustive()
    }
}

/// The pipeline's operation: the first attempt on the ready service, later ones on clones of
/// a spare, each with a copy of the kept request.
pub(crate) struct Attempts<S, Req, R> {
    first: Option<(S, Req)>,
    spare: Option<S>,
    kept: Option<Req>,
    rules: R,
}

impl<S: Clone, Req, R> Attempts<S, Req, R> {
    /// `ready` was polled ready: it sends `first`; later attempts copy `kept`.
    pub(crate) fn new(ready: S, first: Req, kept: Req, rules: R) -> Self {
        Attempts {
            spare: Some(ready.clone()),
            first: Some((ready, first)),
            kept: Some(kept),
            rules,
        }
    }
}

impl<S: fmt::Debug, Req, R> fmt::Debug for Attempts<S, Req, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Attempts")
            .field("first_made", &self.first.is_none())
            .finish_non_exhaustive()
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
        if let Some((service, request)) = self.first.take() {
            return Attempt::Readying {
                service,
                request: Some(request),
                rules,
                last: self.kept.is_none(),
                ready: true,
            };
        }
        let (request, last) = match self.kept.as_ref().and_then(|k| rules.clone_request(k)) {
            Some(copy) => (Some(copy), false),
            None => (self.kept.take(), true),
        };
        Attempt::Readying {
            service: self
                .spare
                .clone()
                .expect("a spare service while a request is kept"),
            request,
            rules,
            last,
            ready: false,
        }
    }
}

fn failure<Res>(_: &Failed<Res>) -> Outcome {
    Outcome::Failure
}

impl<S, T, R, Req> Service<Req> for PipelineService<S, T, R>
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
        let kept = layer.rules.clone_request(&req);
        // The ready service goes with the first attempt; this one must be polled ready anew.
        let unready = self.inner.clone();
        let ready = std::mem::replace(&mut self.inner, unready);
        let attempts = Attempts {
            spare: kept.as_ref().map(|_| ready.clone()),
            first: Some((ready, req)),
            kept,
            rules: layer.rules.clone(),
        };
        let when: When<S::Response> = retryable::<S::Response>;
        let hint: fn(&Failed<S::Response>) -> Option<Duration> = hint::<S::Response>;
        let classify: fn(&Failed<S::Response>) -> Outcome = failure::<S::Response>;
        ResponseFuture {
            call: layer
                .pipeline
                .call(&layer.timer, attempts)
                .retry_when(when)
                .retry_after(hint)
                .classify(classify),
        }
    }
}

pin_project! {
    /// The response future of a [`PipelineService`]: the call through every stage of the
    /// pipeline. No allocation of its own; dropping it gives back the permit, the probe slot
    /// and the place in line it held.
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
        call: Call<'static, T, Attempts<S, Req, R>>,
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
        f.debug_struct("ResponseFuture").finish_non_exhaustive()
    }
}

/// The caller's answer: the last response or error of the operation, or the stage's refusal
/// as an [`Error`].
fn settle<Res>(out: Result<Res, PipelineError<Failed<Res>>>) -> Result<Res, BoxError> {
    let refused = match out {
        Ok(response) => return Ok(response),
        Err(PipelineError::Failed(failed)) => return give_up(failed),
        Err(PipelineError::RetriesExhausted(exhausted)) => {
            let timeout = exhausted.timeout();
            match exhausted.into_error() {
                Some(failed) => return give_up(failed),
                None => match timeout {
                    Some(limit) => Error::AttemptTimedOut(limit),
                    None => Error::DeadlinePassed,
                },
            }
        }
        Err(PipelineError::Timeout(limit)) => Error::TotalTimedOut(limit),
        Err(PipelineError::AttemptTimeout(limit)) => Error::AttemptTimedOut(limit),
        Err(PipelineError::CircuitOpen(open)) => Error::CircuitOpen(open),
        Err(PipelineError::RateLimited(limited)) => Error::RateLimited(limited),
        Err(PipelineError::BulkheadRejected(rejected)) => Error::Bulkhead(rejected),
        Err(other) => return Err(other.to_string().into()),
    };
    Err(boxed(refused))
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
        self.project().call.poll(cx).map(settle)
    }
}
