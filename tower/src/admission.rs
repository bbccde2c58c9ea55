//! The readiness state shared by the layers that admit in `poll_ready` (bulkhead, rate
//! limiter): a reservation held for the next `call`, and apart from it the rarer states: a
//! wait under way, or a refusal that the next `call` reports.
//!
//! The reservation is a plain `Option` beside the rest so that the happy path (reserve in
//! `poll_ready`, take in `call`) tests and moves one word, not a wide enum.

use std::future::Future;
use std::pin::Pin;
use std::sync::Mutex;
use std::task::{Context, Poll};

use crate::error::Error;

/// A wait that could not finish at once: boxed, as its future borrows from an `Arc` it owns.
/// Behind a `Mutex` only so that the service stays `Sync` (axum asks for it); it is reached
/// through `&mut self` with `get_mut`, never locked.
type Wait<P> = Mutex<Pin<Box<dyn Future<Output = Result<P, Error>> + Send>>>;

/// What a first try at admission gave, when it gave no reservation.
pub(crate) enum NotHeld<P> {
    /// Nothing reserved and nothing under way: where every clone starts.
    Idle,
    Waiting(Wait<P>),
    /// Refused in `poll_ready`; the next `call` answers with it.
    Refused(Error),
}

impl<P> NotHeld<P> {
    pub(crate) fn wait(future: impl Future<Output = Result<P, Error>> + Send + 'static) -> Self {
        NotHeld::Waiting(Mutex::new(Box::pin(future)))
    }
}

pub(crate) struct Admission<P> {
    /// Reserved by `poll_ready`, for the next `call`. Never set together with `other`.
    held: Option<P>,
    other: NotHeld<P>,
}

impl<P> Admission<P> {
    pub(crate) const IDLE: Self = Admission {
        held: None,
        other: NotHeld::Idle,
    };

    /// Ready with `true` once a reservation is held, `false` once refused. `admit` makes the
    /// first try, when nothing is held, refused or under way.
    #[inline]
    pub(crate) fn poll(
        &mut self,
        cx: &mut Context<'_>,
        admit: impl FnOnce() -> Result<P, NotHeld<P>>,
    ) -> Poll<bool> {
        if self.held.is_some() {
            return Poll::Ready(true);
        }
        if let NotHeld::Idle = self.other {
            match admit() {
                Ok(held) => {
                    self.held = Some(held);
                    return Poll::Ready(true);
                }
                Err(other) => self.other = other,
            }
        }
        self.poll_other(cx)
    }

    fn poll_other(&mut self, cx: &mut Context<'_>) -> Poll<bool> {
        let wait = match &mut self.other {
            NotHeld::Waiting(wait) => wait
                .get_mut()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
            // `Idle` only if `admit` gave it: nothing held, as for a refusal; `call` tries anew.
            NotHeld::Refused(_) | NotHeld::Idle => return Poll::Ready(false),
        };
        match wait.as_mut().poll(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Ok(held)) => {
                self.other = NotHeld::Idle;
                self.held = Some(held);
                Poll::Ready(true)
            }
            Poll::Ready(Err(refused)) => {
                self.other = NotHeld::Refused(refused);
                Poll::Ready(false)
            }
        }
    }

    /// What `call` gets: the reservation, if `poll_ready` made one.
    #[inline]
    pub(crate) fn take(&mut self) -> Option<P> {
        self.held.take()
    }

    /// What `call` gets when [`take`](Admission::take) gave nothing: the refusal reached in
    /// `poll_ready`, if any. The state is idle again (a wait under way is given up).
    pub(crate) fn take_refusal(&mut self) -> Option<Error> {
        match std::mem::replace(&mut self.other, NotHeld::Idle) {
            NotHeld::Refused(why) => Some(why),
            NotHeld::Idle | NotHeld::Waiting(_) => None,
        }
    }

    pub(crate) fn label(&self) -> &'static str {
        match (&self.held, &self.other) {
            (Some(_), _) => "ready",
            (None, NotHeld::Idle) => "idle",
            (None, NotHeld::Waiting(_)) => "waiting",
            (None, NotHeld::Refused(_)) => "refused",
        }
    }
}
