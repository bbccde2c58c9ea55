//! [`ChaosLayer`]: faults injected on purpose into the calls to the inner service, from one
//! [`Chaos`] stage shared by every clone (see [`steadfast::chaos`] for the faults, their
//! rates, the seeded draws and the switch).
//!
//! Readiness is the inner service's. The fault is drawn in `call`:
//!
//! - **error**: the inner service is not called; the response is an
//!   [`Injected`] error, boxed as an inner service's error
//!   would be (it stands for a failing dependency, so a [`RetryLayer`](crate::retry::RetryLayer)
//!   above retries it by default), reached by `err.downcast_ref::<Injected>()`;
//! - **outcome**: the inner service is not called; the response is the one the layer's
//!   [`outcome`](ChaosLayer::outcome) rule makes from the request (a fake 503), or without
//!   a rule the `Injected::Outcome` error;
//! - **latency**: the inner service is called at once (its `call` is where a tower service
//!   starts its work, and the readiness reserved for it is this call's), and its response
//!   future is first polled after the delay: the response comes that much later. The delay
//!   counts from the first poll of the response future, on the layer's [`Timer`];
//! - **stall**: the inner service is not called; the response future stays pending until
//!   dropped (an outer timeout ends it).
//!
//! A disabled stage ([`Chaos::disable`]) passes every call through untouched.
//!
//! ```
//! use std::sync::Arc;
//! use steadfast::chaos::{Chaos, Injected};
//! use steadfast_tokio::TokioTimer;
//! use steadfast_tower::chaos::ChaosLayer;
//! use tower::{ServiceBuilder, ServiceExt, service_fn};
//!
//! # #[tokio::main(flavor = "current_thread", start_paused = true)]
//! # async fn main() {
//! let chaos = Arc::new(Chaos::builder().error(1.0).build().unwrap());
//! let svc = ServiceBuilder::new()
//!     .layer(ChaosLayer::new(chaos.clone(), TokioTimer::new()))
//!     .service(service_fn(|name: &'static str| async move {
//!         Ok::<_, std::convert::Infallible>(format!("hello, {name}"))
//!     }));
//! let err = svc.clone().oneshot("tower").await.unwrap_err();
//! assert_eq!(err.downcast_ref::<Injected>(), Some(&Injected::Error));
//!
//! chaos.disable();
//! assert_eq!(svc.oneshot("tower").await.unwrap(), "hello, tower");
//! # }
//! ```

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use pin_project_lite::pin_project;
use steadfast::Timer;
use steadfast::chaos::{Chaos, Fault, Injected};
use tower_layer::Layer;
use tower_service::Service;

use crate::error::BoxError;

/// The response of an outcome fault, made from the request: implemented by `()` (no
/// response: the call fails with [`Injected::Outcome`], the default) and by every
/// `Fn(&Req) -> Res`, such as a `fn` pointer answering a fake 503.
///
/// ```
/// fn unavailable(_: &http::Request<()>) -> http::Response<()> {
///     http::Response::builder().status(503).body(()).unwrap()
/// }
/// # let _ = unavailable;
/// ```
pub trait MakeOutcome<Req, Res> {
    /// The response for `request`, or `None` to fail with [`Injected::Outcome`].
    fn make_outcome(&self, request: &Req) -> Option<Res>;
}

impl<Req, Res> MakeOutcome<Req, Res> for () {
    fn make_outcome(&self, _: &Req) -> Option<Res> {
        None
    }
}

impl<Req, Res, F: Fn(&Req) -> Res> MakeOutcome<Req, Res> for F {
    fn make_outcome(&self, request: &Req) -> Option<Res> {
        Some(self(request))
    }
}

/// Injects the faults of one shared [`Chaos`] stage into the services it wraps. See the
/// [module docs](self).
#[derive(Clone, Debug)]
pub struct ChaosLayer<T, O = ()> {
    chaos: Arc<Chaos>,
    timer: T,
    outcome: O,
}

impl<T: Timer> ChaosLayer<T> {
    /// Every service made by this layer, and every clone of them, draws from `chaos`; the
    /// latency faults sleep on `timer`.
    pub const fn new(chaos: Arc<Chaos>, timer: T) -> Self {
        ChaosLayer {
            chaos,
            timer,
            outcome: (),
        }
    }
}

impl<T, O> ChaosLayer<T, O> {
    /// Answers an outcome fault with `outcome(&request)` instead of the
    /// [`Injected::Outcome`] error; a function pointer keeps the layer's type nameable.
    pub fn outcome<O2>(self, outcome: O2) -> ChaosLayer<T, O2> {
        ChaosLayer {
            chaos: self.chaos,
            timer: self.timer,
            outcome,
        }
    }
}

impl<S, T: Timer, O: Clone> Layer<S> for ChaosLayer<T, O> {
    type Service = ChaosService<S, T, O>;

    fn layer(&self, inner: S) -> Self::Service {
        ChaosService {
            inner,
            chaos: Arc::clone(&self.chaos),
            timer: self.timer.clone(),
            outcome: self.outcome.clone(),
        }
    }
}

/// The service of a [`ChaosLayer`]. Clones share the stage.
#[derive(Clone)]
pub struct ChaosService<S, T, O = ()> {
    inner: S,
    chaos: Arc<Chaos>,
    timer: T,
    outcome: O,
}

impl<S, T, O> ChaosService<S, T, O> {
    /// The shared stage, to switch it or read its metrics.
    pub fn chaos(&self) -> &Arc<Chaos> {
        &self.chaos
    }

    /// The wrapped service.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// The wrapped service, mutably.
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.inner
    }

    /// The wrapped service, by value.
    pub fn into_inner(self) -> S {
        self.inner
    }
}

impl<S: fmt::Debug, T, O> fmt::Debug for ChaosService<S, T, O> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChaosService")
            .field("inner", &self.inner)
            .field("chaos", &self.chaos)
            .finish_non_exhaustive()
    }
}

impl<S, T, O, Req> Service<Req> for ChaosService<S, T, O>
where
    S: Service<Req>,
    S::Error: Into<BoxError>,
    T: Timer,
    O: MakeOutcome<Req, S::Response>,
{
    type Response = S::Response;
    type Error = BoxError;
    type Future = ResponseFuture<S::Future, T, S::Response>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, req: Req) -> Self::Future {
        let state = match self.chaos.draw() {
            None => State::Inner {
                future: self.inner.call(req),
            },
            Some(Fault::Latency(delay)) => State::Delayed {
                delay,
                timer: self.timer.clone(),
                sleep: Arm::Idle,
                future: self.inner.call(req),
            },
            Some(Fault::Error) => State::Failed {
                injected: Some(Injected::Error),
            },
            Some(Fault::Outcome) => match self.outcome.make_outcome(&req) {
                Some(response) => State::Replaced {
                    response: Some(response),
                },
                None => State::Failed {
                    injected: Some(Injected::Outcome),
                },
            },
            // `Fault` is non-exhaustive: a kind this layer does not know stalls too, calling
            // nothing.
            Some(_) => State::Stalled,
        };
        ResponseFuture { state }
    }
}

pin_project! {
    #[project = ArmProj]
    enum Arm<S> {
        Idle,
        Armed { #[pin] sleep: S },
        Over,
    }
}

pin_project! {
    #[project = StateProj]
    enum State<F, T: Timer, R> {
        Inner { #[pin] future: F },
        Delayed { delay: Duration, timer: T, #[pin] sleep: Arm<T::Sleep>, #[pin] future: F },
        Failed { injected: Option<Injected> },
        Replaced { response: Option<R> },
        Stalled,
    }
}

pin_project! {
    /// The response future of a [`ChaosService`]: the inner response, late by a latency
    /// fault's delay; an injected error or replacement response; or, stalled, nothing ever.
    /// No allocation unless it fails.
    #[must_use = "futures do nothing unless polled"]
    pub struct ResponseFuture<F, T: Timer, R> {
        #[pin]
        state: State<F, T, R>,
    }
}

impl<F, T: Timer, R> fmt::Debug for ResponseFuture<F, T, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match &self.state {
            State::Inner { .. } => "inner",
            State::Delayed { .. } => "delayed",
            State::Failed { .. } => "failed",
            State::Replaced { .. } => "replaced",
            State::Stalled => "stalled",
        };
        f.debug_struct("ResponseFuture")
            .field("state", &state)
            .finish()
    }
}

impl<F, R, E, T> Future for ResponseFuture<F, T, R>
where
    F: Future<Output = Result<R, E>>,
    E: Into<BoxError>,
    T: Timer,
{
    type Output = Result<R, BoxError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        const DONE: &str = "`ResponseFuture` polled after completion";
        match self.project().state.project() {
            StateProj::Inner { future } => future.poll(cx).map_err(Into::into),
            StateProj::Delayed {
                delay,
                timer,
                mut sleep,
                future,
            } => {
                if let ArmProj::Idle = sleep.as_mut().project() {
                    let armed = timer.sleep(*delay);
                    sleep.set(Arm::Armed { sleep: armed });
                }
                if let ArmProj::Armed { sleep: s } = sleep.as_mut().project() {
                    ready!(s.poll(cx));
                    sleep.set(Arm::Over);
                }
                future.poll(cx).map_err(Into::into)
            }
            StateProj::Failed { injected } => {
                Poll::Ready(Err(Box::new(injected.take().expect(DONE))))
            }
            StateProj::Replaced { response } => Poll::Ready(Ok(response.take().expect(DONE))),
            StateProj::Stalled => Poll::Pending,
        }
    }
}
