//! [`BreakerLayer`]: a circuit breaker shared by every clone of the service.
//!
//! Admission happens in `call`, never in `poll_ready`: readiness is the inner service's, so no
//! probe slot is held by a service that is ready but idle, and an open circuit is answered
//! from `call` with [`Error::CircuitOpen`] (carrying when to come back) without calling the
//! inner service. It is never a readiness error, which would tear down a
//! `tower::buffer::Buffer`.
//!
//! Each admitted call holds an owned permit until its response future ends: the outcome is
//! recorded then, by the [`Classify`] rule (by default an `Err` is a failure); a response
//! future dropped first (the caller gave up, an outer timeout fired) records nothing and
//! frees its half-open probe slot.
//!
//! ```
//! use std::sync::Arc;
//! use std::time::Duration;
//! use steadfast::breaker::CircuitBreaker;
//! use steadfast_tokio::TokioTimer;
//! use steadfast_tower::{Error, breaker::BreakerLayer};
//! use tower::{ServiceBuilder, ServiceExt, service_fn};
//!
//! # #[tokio::main(flavor = "current_thread", start_paused = true)]
//! # async fn main() {
//! let breaker = Arc::new(
//!     CircuitBreaker::builder().consecutive_failures(2).open_for(Duration::from_secs(5)).build::<1>().unwrap(),
//! );
//! let svc = ServiceBuilder::new()
//!     .layer(BreakerLayer::new(breaker, TokioTimer::new()))
//!     .service(service_fn(|()| async { Err::<(), _>("upstream down") }));
//! for _ in 0..2 {
//!     assert_eq!(svc.clone().oneshot(()).await.unwrap_err().to_string(), "upstream down");
//! }
//! let err = svc.oneshot(()).await.unwrap_err();
//! let open = err.downcast_ref::<Error>().unwrap();
//! assert_eq!(open.retry_after(), Some(Duration::from_secs(5)));
//! # }
//! ```

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};

use pin_project_lite::pin_project;
use steadfast::Timer;
use steadfast::breaker::{CircuitBreaker, Outcome, OwnedPermit};
use tower_layer::Layer;
use tower_service::Service;

use crate::error::{BoxError, Error, boxed};

/// How a call's result counts for the breaker: implemented by `()` (an `Err` is a failure, an
/// `Ok` a success: the default) and by every `Fn(&Result<Res, E>) -> Outcome`, where `E` is
/// the inner service's error.
///
/// ```
/// use steadfast::breaker::Outcome;
///
/// // A 5xx counts against the upstream, a 4xx is the caller's own doing.
/// fn by_status(r: &Result<http::Response<()>, std::io::Error>) -> Outcome {
///     match r {
///         Ok(res) if res.status().is_server_error() => Outcome::Failure,
///         Ok(res) if res.status().is_client_error() => Outcome::Ignored,
///         Ok(_) => Outcome::Success,
///         Err(_) => Outcome::Failure,
///     }
/// }
/// # let _ = by_status;
/// ```
pub trait Classify<Res, E> {
    /// The outcome of one call.
    fn classify(&self, result: &Result<Res, E>) -> Outcome;
}

impl<Res, E> Classify<Res, E> for () {
    fn classify(&self, result: &Result<Res, E>) -> Outcome {
        match result {
            Ok(_) => Outcome::Success,
            Err(_) => Outcome::Failure,
        }
    }
}

impl<Res, E, F: Fn(&Result<Res, E>) -> Outcome> Classify<Res, E> for F {
    fn classify(&self, result: &Result<Res, E>) -> Outcome {
        self(result)
    }
}

/// Puts the services it wraps behind one shared [`CircuitBreaker`]. See the
/// [module docs](self).
#[derive(Clone, Debug)]
pub struct BreakerLayer<T, const N: usize = 10, C = ()> {
    breaker: Arc<CircuitBreaker<N>>,
    timer: T,
    classify: C,
}

impl<T: Timer, const N: usize> BreakerLayer<T, N> {
    /// Every service made by this layer, and every clone of them, is admitted by `breaker`,
    /// whose clock is `timer`'s.
    pub const fn new(breaker: Arc<CircuitBreaker<N>>, timer: T) -> Self {
        BreakerLayer {
            breaker,
            timer,
            classify: (),
        }
    }
}

impl<T, const N: usize, C> BreakerLayer<T, N, C> {
    /// Counts results by `classify` instead of "an `Err` is a failure"; a function pointer
    /// keeps the layer's type nameable.
    pub fn classify<C2>(self, classify: C2) -> BreakerLayer<T, N, C2> {
        BreakerLayer {
            breaker: self.breaker,
            timer: self.timer,
            classify,
        }
    }
}

impl<S, T: Timer, const N: usize, C: Clone> Layer<S> for BreakerLayer<T, N, C> {
    type Service = BreakerService<S, T, N, C>;

    fn layer(&self, inner: S) -> Self::Service {
        BreakerService {
            inner,
            breaker: Arc::clone(&self.breaker),
            timer: self.timer.clone(),
            classify: self.classify.clone(),
        }
    }
}

/// The service of a [`BreakerLayer`]. Clones share the breaker.
#[derive(Clone)]
pub struct BreakerService<S, T, const N: usize = 10, C = ()> {
    inner: S,
    breaker: Arc<CircuitBreaker<N>>,
    timer: T,
    classify: C,
}

impl<S, T, const N: usize, C> BreakerService<S, T, N, C> {
    /// The shared breaker, for its state, its metrics or manual control.
    pub fn breaker(&self) -> &Arc<CircuitBreaker<N>> {
        &self.breaker
    }

    /// The wrapped service.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// The wrapped service, mutably.
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.inner
    }
}

impl<S: fmt::Debug, T, const N: usize, C> fmt::Debug for BreakerService<S, T, N, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BreakerService")
            .field("inner", &self.inner)
            .field("breaker", &self.breaker)
            .finish_non_exhaustive()
    }
}

impl<S, T, const N: usize, C, Req> Service<Req> for BreakerService<S, T, N, C>
where
    S: Service<Req>,
    S::Error: Into<BoxError>,
    T: Timer,
    C: Classify<S::Response, S::Error> + Clone,
{
    type Response = S::Response;
    type Error = BoxError;
    type Future = ResponseFuture<S::Future, T, C>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, req: Req) -> Self::Future {
        let state = match self.breaker.try_acquire_owned(&self.timer) {
            Ok(permit) => State::Admitted {
                future: self.inner.call(req),
                permit: Some(permit),
                timer: self.timer.clone(),
                classify: self.classify.clone(),
            },
            Err(open) => State::Refused {
                error: Some(Error::CircuitOpen(open)),
            },
        };
        ResponseFuture { state }
    }
}

pin_project! {
    #[project = StateProj]
    enum State<F, T, C> {
        Admitted { #[pin] future: F, permit: Option<OwnedPermit>, timer: T, classify: C },
        Refused { error: Option<Error> },
    }
}

pin_project! {
    /// The response future of a [`BreakerService`]: records the call's outcome when it ends;
    /// dropped before, it records nothing and frees its probe slot.
    #[must_use = "futures do nothing unless polled"]
    pub struct ResponseFuture<F, T, C> {
        #[pin]
        state: State<F, T, C>,
    }
}

impl<F, T, C> fmt::Debug for ResponseFuture<F, T, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match &self.state {
            State::Admitted { .. } => "admitted",
            State::Refused { .. } => "refused",
        };
        f.debug_struct("ResponseFuture")
            .field("state", &state)
            .finish()
    }
}

impl<F, R, E, T, C> Future for ResponseFuture<F, T, C>
where
    F: Future<Output = Result<R, E>>,
    E: Into<BoxError>,
    T: Timer,
    C: Classify<R, E>,
{
    type Output = Result<R, BoxError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().state.project() {
            StateProj::Admitted {
                future,
                permit,
                timer,
                classify,
            } => {
                let out = ready!(future.poll(cx));
                if let Some(permit) = permit.take() {
                    permit.record(timer, classify.classify(&out));
                }
                Poll::Ready(out.map_err(Into::into))
            }
            StateProj::Refused { error } => Poll::Ready(Err(boxed(
                error
                    .take()
                    .expect("`ResponseFuture` polled after completion"),
            ))),
        }
    }
}
