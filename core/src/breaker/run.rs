//! The future of [`CircuitBreaker::run`](super::CircuitBreaker::run).

use core::fmt;
use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll};

use pin_project_lite::pin_project;

use super::machine::{Now, Ticket};
use super::{BreakerError, Core, Outcome, Permit, admit, record};
use crate::observe::{Event, Observe};
use crate::{Instant, Timer};

/// The default classifier: an `Err` is a failure, an `Ok` a success.
pub(super) fn by_result<V, E>(result: &Result<V, E>) -> Outcome {
    match result {
        Ok(_) => Outcome::Success,
        Err(_) => Outcome::Failure,
    }
}

pin_project! {
    /// A call run through a breaker: admitted on its first poll, its outcome recorded when it
    /// ends; dropped before that, it records nothing. `O` is its [observer](crate::observe),
    /// `()` unless set with [`observe`](Run::observe).
    #[must_use = "futures do nothing unless awaited or polled"]
    pub struct Run<'a, T, F, O = ()>
    where
        F: Future,
    {
        // Holds nothing until the call is admitted, and nothing once its outcome is recorded.
        permit: Permit<'a>,
        timer: T,
        started: bool,
        classify: fn(&F::Output) -> Outcome,
        observer: O,
        #[pin]
        work: F,
    }
}

impl<'a, T, F, V, E> Run<'a, T, F>
where
    F: Future<Output = Result<V, E>>,
{
    pub(super) fn new(breaker: &'a (dyn Core + Sync), timer: T, work: F) -> Self {
        Self::classified(breaker, timer, work, by_result::<V, E>, ())
    }
}

impl<'a, T, F, V, E, O> Run<'a, T, F, O>
where
    F: Future<Output = Result<V, E>>,
{
    pub(super) fn classified(
        breaker: &'a (dyn Core + Sync),
        timer: T,
        work: F,
        classify: fn(&Result<V, E>) -> Outcome,
        observer: O,
    ) -> Self {
        Run {
            permit: Permit {
                breaker,
                ticket: Ticket::NONE,
                admitted: Instant::ZERO,
            },
            timer,
            started: false,
            classify,
            observer,
            work,
        }
    }

    /// Reports the breaker's rejection of this call ([`Event::BreakerRejected`]) and the
    /// transitions its admission or its outcome caused ([`Event::BreakerTransition`]) to
    /// `observer` (see [`crate::observe`]).
    #[inline(always)]
    pub fn observe<O2: Observe>(self, observer: O2) -> Run<'a, T, F, O2> {
        Run {
            permit: self.permit,
            timer: self.timer,
            started: self.started,
            classify: self.classify,
            observer,
            work: self.work,
        }
    }

    /// Counts outcomes with `classify` instead of "an `Err` is a failure": for instance, a
    /// 404 as [`Outcome::Ignored`] and a 503 as [`Outcome::Failure`].
    #[inline(always)]
    pub fn classify(mut self, classify: fn(&Result<V, E>) -> Outcome) -> Self {
        self.classify = classify;
        self
    }
}

impl<T, F, V, E, O> Future for Run<'_, T, F, O>
where
    O: Observe,
    T: Timer,
    F: Future<Output = Result<V, E>>,
{
    type Output = Result<V, BreakerError<E>>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let timer = &*this.timer;
        let read = || timer.now();
        if !*this.started {
            *this.started = true;
            let (admitted, transition) = admit(this.permit.breaker, &mut Now::lazy(&read));
            if let Some(t) = transition {
                this.observer.emit(|| Event::BreakerTransition(t));
            }
            match admitted {
                Ok((ticket, admitted)) => {
                    this.permit.ticket = ticket;
                    this.permit.admitted = admitted;
                }
                Err(open) => {
                    let retry_after = open.retry_after();
                    this.observer
                        .emit(|| Event::BreakerRejected { retry_after });
                    return Poll::Ready(Err(BreakerError::Open(open)));
                }
            }
        } else if this.permit.ticket.recorded {
            panic!("`breaker::Run` polled after completion");
        }
        let out = core::task::ready!(this.work.poll(cx));
        let outcome = (this.classify)(&out);
        let permit = &mut *this.permit;
        permit.ticket.recorded = true;
        let clock = &mut Now::lazy(&read);
        if let Some(t) = record(
            permit.breaker,
            permit.ticket,
            clock,
            permit.admitted,
            outcome,
        ) {
            this.observer.emit(|| Event::BreakerTransition(t));
        }
        Poll::Ready(out.map_err(BreakerError::Failed))
    }
}

impl<T, F: Future, O> fmt::Debug for Run<'_, T, F, O> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Run")
            .field("started", &self.started)
            .field("admitted", &!self.permit.ticket.recorded)
            .finish_non_exhaustive()
    }
}
