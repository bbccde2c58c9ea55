//! The readiness state shared by the layers that admit in `poll_ready` (bulkhead, rate
//! limiter): nothing reserved, waiting, a reservation held for the next `call`, or a refusal
//! that the next `call` reports.

use std::future::Future;
use std::pin::Pin;
use std::sync::Mutex;
use std::task::{Context, Poll};

use crate::error::Error;

/// A wait that could not finish at once: boxed, as its future borrows from an `Arc` it owns.
/// Behind a `Mutex` only so that the service stays `Sync` (axum asks for it); it is reached
/// through `&mut self` with `get_mut`, never locked.
type Wait<P> = Mutex<Pin<Box<dyn Future<Output = Result<P, Error>> + Send>>>;

pub(crate) enum Admission<P> {
    /// Nothing reserved: where every clone starts.
    Idle,
    Waiting(Wait<P>),
    /// Reserved by `poll_ready`, for the next `call`.
    Held(P),
    /// Refused in `poll_ready`; the next `call` answers with it.
    Refused(Error),
}

impl<P> Admission<P> {
    pub(crate) fn wait(future: impl Future<Output = Result<P, Error>> + Send + 'static) -> Self {
        Admission::Waiting(Mutex::new(Box::pin(future)))
    }

    /// Polls a wait begun with [`wait`](Admission::wait) until it ends.
    pub(crate) fn poll_wait(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        if let Admission::Waiting(wait) = self {
            let wait = wait
                .get_mut()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            *self = match wait.as_mut().poll(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Ok(held)) => Admission::Held(held),
                Poll::Ready(Err(refused)) => Admission::Refused(refused),
            };
        }
        Poll::Ready(())
    }

    /// What `call` gets: the reservation or the refusal; the state is idle again.
    pub(crate) fn take(&mut self) -> Admission<P> {
        std::mem::replace(self, Admission::Idle)
    }

    pub(crate) fn label(&self) -> &'static str {
        match self {
            Admission::Idle => "idle",
            Admission::Waiting(_) => "waiting",
            Admission::Held(_) => "ready",
            Admission::Refused(_) => "refused",
        }
    }
}
