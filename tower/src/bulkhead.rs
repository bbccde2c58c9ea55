//! [`BulkheadLayer`]: at most `max_concurrent` requests in flight, with backpressure, every
//! clone of the service counted against one [`Bulkhead`].
//!
//! Admission follows the bulkhead's own settings:
//!
//! | bulkhead built with | `poll_ready` | `call` when refused |
//! |---|---|---|
//! | [`Bulkhead::new`] (waits, unbounded) | pending until a permit is free, in FIFO order | — |
//! | [`max_waiting(n)`](steadfast::bulkhead::BulkheadBuilder::max_waiting) | pending while waiting; ready at once when `n` already wait | [`Rejected::QueueFull`](steadfast::bulkhead::Rejected::QueueFull) |
//! | [`reject_when_full`](steadfast::bulkhead::BulkheadBuilder::reject_when_full) | ready at once | [`Rejected::Full`](steadfast::bulkhead::Rejected::Full) |
//! | the layer's [`max_wait(d)`](BulkheadLayer::max_wait) | pending at most `d` | [`Rejected::WaitedTooLong`](steadfast::bulkhead::Rejected::WaitedTooLong) |
//! | after [`Bulkhead::close`] | ready at once | [`Rejected::Closed`](steadfast::bulkhead::Rejected::Closed) |
//!
//! A refusal is never a readiness error (one of those tears down a `tower::buffer::Buffer`
//! and the connection with it): `poll_ready` answers ready and the next `call` answers
//! [`Error::Bulkhead`] without calling the inner service.
//!
//! The permit is taken in `poll_ready` and moves into the response future on `call`; it is
//! released when the response future completes or is dropped, and also when the service is
//! dropped before `call`. A clone starts without one. The permit is taken before the inner
//! service is polled for readiness, as tower's `ConcurrencyLimit` does.
//!
//! A free permit costs no allocation; a caller that has to wait allocates its wait future
//! once (the bulkhead's owned wait borrows from the `Arc` it owns), as tower's
//! `ConcurrencyLimit` does through `PollSemaphore`.
//!
//! ```
//! use std::sync::Arc;
//! use steadfast::bulkhead::Bulkhead;
//! use steadfast_tokio::TokioTimer;
//! use steadfast_tower::bulkhead::BulkheadLayer;
//! use tower::{ServiceBuilder, ServiceExt, service_fn};
//!
//! # #[tokio::main(flavor = "current_thread", start_paused = true)]
//! # async fn main() {
//! let bulkhead = Arc::new(Bulkhead::builder(16).max_waiting(64).build().unwrap());
//! let svc = ServiceBuilder::new()
//!     .layer(BulkheadLayer::new(Arc::clone(&bulkhead), TokioTimer::new()))
//!     .service(service_fn(|x: u32| async move { Ok::<_, std::convert::Infallible>(x * 2) }));
//! assert_eq!(svc.oneshot(21).await.unwrap(), 42);
//! assert_eq!(bulkhead.metrics().in_flight, 0);
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
use steadfast::bulkhead::{Bulkhead, OwnedPermit};
use tower_layer::Layer;
use tower_service::Service;

use crate::admission::{Admission, NotHeld};
use crate::error::{BoxError, Error, boxed};

/// Puts the services it wraps behind one shared [`Bulkhead`]. See the [module docs](self).
#[derive(Clone, Debug)]
pub struct BulkheadLayer<T> {
    bulkhead: Arc<Bulkhead>,
    timer: T,
    max_wait: Option<Duration>,
}

impl<T: Timer> BulkheadLayer<T> {
    /// Every service made by this layer, and every clone of them, takes its permits from
    /// `bulkhead`. `timer` serves [`max_wait`](BulkheadLayer::max_wait).
    pub const fn new(bulkhead: Arc<Bulkhead>, timer: T) -> Self {
        BulkheadLayer {
            bulkhead,
            timer,
            max_wait: None,
        }
    }

    /// Waits at most `max_wait` for a permit (counted from the first `poll_ready` that has to
    /// wait), then answers the request with
    /// [`Rejected::WaitedTooLong`](steadfast::bulkhead::Rejected::WaitedTooLong).
    #[must_use]
    pub const fn max_wait(mut self, max_wait: Duration) -> Self {
        self.max_wait = Some(max_wait);
        self
    }
}

impl<S, T: Timer> Layer<S> for BulkheadLayer<T> {
    type Service = BulkheadService<S, T>;

    fn layer(&self, inner: S) -> Self::Service {
        BulkheadService {
            inner,
            bulkhead: Arc::clone(&self.bulkhead),
            timer: self.timer.clone(),
            max_wait: self.max_wait,
            state: Admission::IDLE,
        }
    }
}

/// The service of a [`BulkheadLayer`]. Clones share the bulkhead and start without a permit.
pub struct BulkheadService<S, T> {
    inner: S,
    bulkhead: Arc<Bulkhead>,
    timer: T,
    max_wait: Option<Duration>,
    state: Admission<OwnedPermit>,
}

impl<S, T> BulkheadService<S, T> {
    /// The shared bulkhead, for its [`metrics`](Bulkhead::metrics) or to
    /// [`close`](Bulkhead::close) it.
    pub fn bulkhead(&self) -> &Arc<Bulkhead> {
        &self.bulkhead
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

impl<S: Clone, T: Clone> Clone for BulkheadService<S, T> {
    /// A clone shares the bulkhead and starts unready: a permit reserved by this service
    /// stays with it.
    fn clone(&self) -> Self {
        BulkheadService {
            inner: self.inner.clone(),
            bulkhead: Arc::clone(&self.bulkhead),
            timer: self.timer.clone(),
            max_wait: self.max_wait,
            state: Admission::IDLE,
        }
    }
}

impl<S: fmt::Debug, T> fmt::Debug for BulkheadService<S, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BulkheadService")
            .field("inner", &self.inner)
            .field("bulkhead", &self.bulkhead)
            .field("state", &self.state.label())
            .finish_non_exhaustive()
    }
}

impl<S, T, Req> Service<Req> for BulkheadService<S, T>
where
    S: Service<Req>,
    S::Error: Into<BoxError>,
    T: Timer + Send + 'static,
    T::Sleep: Send,
{
    type Response = S::Response;
    type Error = BoxError;
    type Future = ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        let (bulkhead, timer, max_wait) = (&self.bulkhead, &self.timer, self.max_wait);
        if ready!(self.state.poll(cx, || admit(bulkhead, timer, max_wait))) {
            self.inner.poll_ready(cx).map_err(Into::into)
        } else {
            Poll::Ready(Ok(()))
        }
    }

    fn call(&mut self, req: Req) -> Self::Future {
        let permit = match self.state.take() {
            Some(permit) => permit,
            None => match self.unreserved() {
                Ok(permit) => permit,
                Err(why) => return ResponseFuture::refused(why),
            },
        };
        ResponseFuture {
            state: State::Admitted {
                future: self.inner.call(req),
                permit: Some(permit),
            },
        }
    }
}

impl<S, T> BulkheadService<S, T> {
    /// A `call` with no permit reserved: the refusal `poll_ready` reached, or, called without
    /// a ready `poll_ready`, a permit only if one is free now.
    #[cold]
    fn unreserved(&mut self) -> Result<OwnedPermit, Error> {
        match self.state.take_refusal() {
            Some(why) => Err(why),
            None => self.bulkhead.try_acquire_owned().map_err(Error::Bulkhead),
        }
    }
}

/// The first try at a permit: a free one, a refusal the bulkhead's settings give at once, or
/// a wait.
fn admit<T>(
    bulkhead: &Arc<Bulkhead>,
    timer: &T,
    max_wait: Option<Duration>,
) -> Result<OwnedPermit, NotHeld<OwnedPermit>>
where
    T: Timer + Send + 'static,
    T::Sleep: Send,
{
    let refused = |why| Error::Bulkhead(why);
    match bulkhead.try_admit_owned() {
        Ok(Some(permit)) => Ok(permit),
        Err(why) => Err(NotHeld::Refused(refused(why))),
        Ok(None) => Err(match max_wait {
            None => {
                let wait = bulkhead.acquire_owned();
                NotHeld::wait(async move { wait.await.map_err(refused) })
            }
            Some(max) => {
                let wait = bulkhead.acquire_owned_within(timer, max);
                NotHeld::wait(async move { wait.await.map_err(refused) })
            }
        }),
    }
}

pin_project! {
    #[project = StateProj]
    enum State<F> {
        Admitted { #[pin] future: F, permit: Option<OwnedPermit> },
        Refused { error: Option<BoxError> },
    }
}

pin_project! {
    /// The response future of a [`BulkheadService`]: holds the permit while the inner call
    /// runs and releases it as the call ends or when dropped.
    #[must_use = "futures do nothing unless polled"]
    pub struct ResponseFuture<F> {
        #[pin]
        state: State<F>,
    }
}

impl<F> ResponseFuture<F> {
    fn refused(error: Error) -> Self {
        ResponseFuture {
            state: State::Refused {
                error: Some(boxed(error)),
            },
        }
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
            StateProj::Admitted { future, permit } => {
                let out = ready!(future.poll(cx));
                // The work is over: its permit goes back now, not when the future is dropped.
                drop(permit.take());
                Poll::Ready(out.map_err(Into::into))
            }
            StateProj::Refused { error } => Poll::Ready(Err(error
                .take()
                .expect("`ResponseFuture` polled after completion"))),
        }
    }
}
