//! [`RateLimitLayer`]: at most `rate` requests per period across every clone of the service,
//! by one shared [`RateLimiter`] (GCRA, FIFO waiters on one timer).
//!
//! tower's own `RateLimit` keeps its window per service instance, so each clone (and axum
//! and hyper clone the service per connection or per request) gets the whole rate again;
//! here every clone draws from the same limiter.
//!
//! | mode | `poll_ready` | `call` when refused |
//! |---|---|---|
//! | default: wait | pending until the cell is granted, first come first served | — |
//! | [`max_wait(d)`](RateLimitLayer::max_wait) | pending while the predicted wait is at most `d`; ready at once otherwise | [`LimitError::RateLimited`] with the predicted wait |
//! | [`reject`](RateLimitLayer::reject) | ready at once | [`LimitError::RateLimited`] with the predicted wait |
//! | any, when the limiter's waiter cap is reached | ready at once | [`LimitError::QueueFull`] |
//!
//! A refusal is never a readiness error: `poll_ready` answers ready and the next `call`
//! answers [`Error::RateLimited`] (its [`retry_after`](Error::retry_after) fits a 429's
//! `Retry-After`) without calling the inner service.
//!
//! The cell is taken in `poll_ready`, before the inner service is polled for readiness. A
//! clone starts without one. A cell taken by a service that is then dropped, or cloned, before
//! `call` is not given back: a rate limiter's grant cannot be undone without letting a burst
//! through, so the limiter errs on the side of the limit. Each call reads the clock once; a
//! granted cell costs no allocation, and a caller that has to wait allocates its wait future
//! once.
//!
//! ```
//! use std::sync::Arc;
//! use std::time::Duration;
//! use steadfast::limiter::RateLimiter;
//! use steadfast_tokio::TokioTimer;
//! use steadfast_tower::{Error, limiter::RateLimitLayer};
//! use tower::{ServiceBuilder, ServiceExt, service_fn};
//!
//! # #[tokio::main(flavor = "current_thread", start_paused = true)]
//! # async fn main() {
//! let limiter = Arc::new(RateLimiter::builder(10, Duration::from_secs(1)).burst(1).build().unwrap());
//! let svc = ServiceBuilder::new()
//!     .layer(RateLimitLayer::new(limiter, TokioTimer::new()).reject())
//!     .service(service_fn(|()| async { Ok::<_, std::convert::Infallible>("ok") }));
//! assert_eq!(svc.clone().oneshot(()).await.unwrap(), "ok");
//! // The clone drew from the same limiter: the next cell is 100 ms away.
//! let err = svc.oneshot(()).await.unwrap_err();
//! let limited = err.downcast_ref::<Error>().unwrap();
//! assert_eq!(limited.retry_after(), Some(Duration::from_millis(100)));
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
use steadfast::limiter::{LimitError, RateLimiter};
use tower_layer::Layer;
use tower_service::Service;

use crate::admission::{Admission, NotHeld};
use crate::error::{BoxError, Error, boxed};

/// How long a request may wait for its cell.
#[derive(Clone, Copy, Debug)]
enum Wait {
    Unbounded,
    AtMost(Duration),
    Never,
}

/// Puts the services it wraps behind one shared [`RateLimiter`], one cell per request. See
/// the [module docs](self).
#[derive(Clone, Debug)]
pub struct RateLimitLayer<T> {
    limiter: Arc<RateLimiter>,
    timer: T,
    wait: Wait,
}

impl<T: Timer> RateLimitLayer<T> {
    /// Every service made by this layer, and every clone of them, takes its cells from
    /// `limiter`, on `timer`'s clock; a request waits for its cell.
    pub const fn new(limiter: Arc<RateLimiter>, timer: T) -> Self {
        RateLimitLayer {
            limiter,
            timer,
            wait: Wait::Unbounded,
        }
    }

    /// Waits only when the predicted wait is at most `max_wait`; otherwise the request is
    /// refused at once, with the predicted wait.
    #[must_use]
    pub const fn max_wait(mut self, max_wait: Duration) -> Self {
        self.wait = Wait::AtMost(max_wait);
        self
    }

    /// Never waits: a request with no cell is refused at once (load shedding, a server's 429).
    #[must_use]
    pub const fn reject(mut self) -> Self {
        self.wait = Wait::Never;
        self
    }
}

impl<S, T: Timer> Layer<S> for RateLimitLayer<T> {
    type Service = RateLimitService<S, T>;

    fn layer(&self, inner: S) -> Self::Service {
        RateLimitService {
            inner,
            limiter: Arc::clone(&self.limiter),
            timer: self.timer.clone(),
            wait: self.wait,
            state: Admission::IDLE,
        }
    }
}

/// The service of a [`RateLimitLayer`]. Clones share the limiter and start without a cell.
pub struct RateLimitService<S, T> {
    inner: S,
    limiter: Arc<RateLimiter>,
    timer: T,
    wait: Wait,
    state: Admission<()>,
}

impl<S, T> RateLimitService<S, T> {
    /// The shared limiter, for its [`metrics`](RateLimiter::metrics).
    pub fn limiter(&self) -> &Arc<RateLimiter> {
        &self.limiter
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

impl<S: Clone, T: Clone> Clone for RateLimitService<S, T> {
    /// A clone shares the limiter and starts unready.
    fn clone(&self) -> Self {
        RateLimitService {
            inner: self.inner.clone(),
            limiter: Arc::clone(&self.limiter),
            timer: self.timer.clone(),
            wait: self.wait,
            state: Admission::IDLE,
        }
    }
}

impl<S: fmt::Debug, T> fmt::Debug for RateLimitService<S, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RateLimitService")
            .field("inner", &self.inner)
            .field("limiter", &self.limiter)
            .field("state", &self.state.label())
            .finish_non_exhaustive()
    }
}

impl<S, T> RateLimitService<S, T>
where
    T: Timer + Send + Sync + 'static,
    T::Sleep: Send,
{
    /// The first try at a cell: taken, refused at once, or a wait.
    fn admit(limiter: &Arc<RateLimiter>, timer: &T, wait: Wait) -> Result<(), NotHeld<()>> {
        let limited = match limiter.try_acquire(timer.now(), 1) {
            Ok(()) => return Ok(()),
            Err(limited @ LimitError::RateLimited { retry_after }) => match wait {
                Wait::Never => limited,
                Wait::AtMost(max) if retry_after > max => limited,
                _ => {
                    let (limiter, timer) = (Arc::clone(limiter), timer.clone());
                    return Err(NotHeld::wait(async move {
                        let granted = match wait {
                            Wait::AtMost(max) => limiter.acquire_within(&timer, 1, max).await,
                            _ => limiter.acquire(&timer, 1).await,
                        };
                        granted.map_err(Error::RateLimited)
                    }));
                }
            },
            Err(other) => other,
        };
        Err(NotHeld::Refused(Error::RateLimited(limited)))
    }
}

impl<S, T, Req> Service<Req> for RateLimitService<S, T>
where
    S: Service<Req>,
    S::Error: Into<BoxError>,
    T: Timer + Send + Sync + 'static,
    T::Sleep: Send,
{
    type Response = S::Response;
    type Error = BoxError;
    type Future = ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        let (limiter, timer, wait) = (&self.limiter, &self.timer, self.wait);
        if ready!(self.state.poll(cx, || Self::admit(limiter, timer, wait))) {
            self.inner.poll_ready(cx).map_err(Into::into)
        } else {
            Poll::Ready(Ok(()))
        }
    }

    fn call(&mut self, req: Req) -> Self::Future {
        let granted = match self.state.take() {
            Some(()) => Ok(()),
            None => self.unreserved(),
        };
        let state = match granted {
            Ok(()) => State::Admitted {
                future: self.inner.call(req),
            },
            Err(why) => State::Refused { error: Some(why) },
        };
        ResponseFuture { state }
    }
}

impl<S, T: Timer> RateLimitService<S, T> {
    /// A `call` with no cell reserved: the refusal `poll_ready` reached, or, called without a
    /// ready `poll_ready`, a cell only if one is there now.
    #[cold]
    fn unreserved(&mut self) -> Result<(), Error> {
        match self.state.take_refusal() {
            Some(why) => Err(why),
            None => self
                .limiter
                .try_acquire(self.timer.now(), 1)
                .map_err(Error::RateLimited),
        }
    }
}

pin_project! {
    #[project = StateProj]
    enum State<F> {
        Admitted { #[pin] future: F },
        Refused { error: Option<Error> },
    }
}

pin_project! {
    /// The response future of a [`RateLimitService`]: the inner response, or the refusal.
    #[must_use = "futures do nothing unless polled"]
    pub struct ResponseFuture<F> {
        #[pin]
        state: State<F>,
    }
}

impl<F> fmt::Debug for ResponseFuture<F> {
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

impl<F, R, E> Future for ResponseFuture<F>
where
    F: Future<Output = Result<R, E>>,
    E: Into<BoxError>,
{
    type Output = Result<R, BoxError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().state.project() {
            StateProj::Admitted { future } => future.poll(cx).map_err(Into::into),
            StateProj::Refused { error } => Poll::Ready(Err(boxed(
                error
                    .take()
                    .expect("`ResponseFuture` polled after completion"),
            ))),
        }
    }
}
