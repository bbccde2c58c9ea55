//! [`TimeoutLayer`]: a response must come within a time limit, counted from the call.
//!
//! The limit runs on the layer's [`Timer`], so the same layer works under tokio
//! ([`TokioTimer`](https://docs.rs/steadfast-tokio), paused time honoured), smol or
//! async-std (`AsyncIoTimer`) and in tests on a `VirtualTimer`. Past the limit the inner
//! response future is dropped (cancelling the call and freeing whatever it held, a bulkhead
//! permit included) and the error is [`Error::TimedOut`].
//!
//! The time counts from the first poll of the response future, and the timer is armed only
//! when the inner future has to wait: a response ready at once reads no clock and arms no
//! timer. Readiness is the inner service's; the limit does not cover `poll_ready`.
//!
//! ```
//! use std::time::Duration;
//! use steadfast_tokio::TokioTimer;
//! use steadfast_tower::{Error, timeout::TimeoutLayer};
//! use tower::{ServiceBuilder, ServiceExt, service_fn};
//!
//! # #[tokio::main(flavor = "current_thread", start_paused = true)]
//! # async fn main() {
//! let svc = ServiceBuilder::new()
//!     .layer(TimeoutLayer::new(TokioTimer::new(), Duration::from_secs(1)))
//!     .service(service_fn(|()| async {
//!         tokio::time::sleep(Duration::from_secs(5)).await;
//!         Ok::<_, std::convert::Infallible>("late")
//!     }));
//! let err = svc.oneshot(()).await.unwrap_err();
//! assert!(matches!(err.downcast_ref::<Error>(), Some(Error::TimedOut(_))));
//! # }
//! ```

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use pin_project_lite::pin_project;
use steadfast::Timer;
use steadfast::timeout::{Elapsed, Timeout};
use tower_layer::Layer;
use tower_service::Service;

use crate::error::{BoxError, Error, boxed};

/// Applies a time limit to every response of the services it wraps. See the
/// [module docs](self).
#[derive(Clone, Debug)]
pub struct TimeoutLayer<T> {
    timer: T,
    limit: Duration,
}

impl<T: Timer> TimeoutLayer<T> {
    /// Each response within `limit` on `timer`'s clock. `Duration::MAX` means no limit.
    pub const fn new(timer: T, limit: Duration) -> Self {
        TimeoutLayer { timer, limit }
    }
}

impl<S, T: Timer> Layer<S> for TimeoutLayer<T> {
    type Service = TimeoutService<S, T>;

    fn layer(&self, inner: S) -> Self::Service {
        TimeoutService {
            inner,
            timer: self.timer.clone(),
            limit: self.limit,
        }
    }
}

/// The service of a [`TimeoutLayer`].
#[derive(Clone, Debug)]
pub struct TimeoutService<S, T> {
    inner: S,
    timer: T,
    limit: Duration,
}

impl<S, T> TimeoutService<S, T> {
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

impl<S, T, Req> Service<Req> for TimeoutService<S, T>
where
    S: Service<Req>,
    S::Error: Into<BoxError>,
    T: Timer,
{
    type Response = S::Response;
    type Error = BoxError;
    type Future = ResponseFuture<S::Future, T>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, req: Req) -> Self::Future {
        ResponseFuture {
            inner: steadfast::timeout::timeout(&self.timer, self.limit, self.inner.call(req)),
        }
    }
}

pin_project! {
    /// The response future of a [`TimeoutService`]: the inner response, or
    /// [`Error::TimedOut`]. No allocation unless it fails.
    #[must_use = "futures do nothing unless polled"]
    pub struct ResponseFuture<F, T: Timer> {
        #[pin]
        inner: Timeout<F, T>,
    }
}

impl<F, T: Timer> fmt::Debug for ResponseFuture<F, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResponseFuture").finish_non_exhaustive()
    }
}

impl<F, R, E, T> Future for ResponseFuture<F, T>
where
    F: Future<Output = Result<R, E>>,
    E: Into<BoxError>,
    T: Timer,
{
    type Output = Result<R, BoxError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().inner.poll(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Ok(out)) => Poll::Ready(out.map_err(Into::into)),
            Poll::Ready(Err(elapsed)) => Poll::Ready(Err(timed_out(elapsed))),
        }
    }
}

fn timed_out(elapsed: Elapsed) -> BoxError {
    boxed(Error::TimedOut(elapsed))
}
