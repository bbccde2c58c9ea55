//! The future of [`CircuitBreaker::run`](super::CircuitBreaker::run).

use core::fmt;
use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll};

use pin_project_lite::pin_project;

use super::machine::Now;
use super::{BreakerError, Core, Outcome, Permit};
use crate::Timer;
use crate::observe::{Event, Observe};

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
        breaker: &'a (dyn Core + Sync),
        timer: T,
        permit: Option<Permit<'a>>,
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
            breaker,
            timer,
            permit: None,
            started: false,
            classify,
            observer,
            work,
        }
    }

    /// Reports the breaker's rejection of this call ([`Event::BreakerRejected`]) and the
    /// transitions its admission or its outcome caused ([`Event::BreakerTransition`]) to
    /// `observer` (see [`crate::observe`]).
    pub fn observe<O2: Observe>(self, observer: O2) -> Run<'a, T, F, O2> {
        Run {
            breaker: self.breaker,
            timer: self.timer,
            permit: self.permit,
            started: self.started,
            classify: self.classify,
            observer,
            work: self.work,
        }
    }

    /// Counts outcomes with `classify` instead of "an `Err` is a failure": for instance, a
    /// 404 as [`Outcome::Ignored`] and a 503 as [`Outcome::Failure`].
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
        if !*this.started {
            *this.started = true;
            let timer = &*this.timer;
            let (admitted, transition) = this.breaker.admit(&mut Now::lazy(&|| timer.now()));
            if let Some(t) = transition {
                this.observer.emit(|| Event::BreakerTransition(t));
            }
            let (ticket, admitted) = match admitted {
                Ok(admitted) => admitted,
                Err(open) => {
                    let retry_after = open.retry_after();
                    this.observer
                        .emit(|| Event::BreakerRejected { retry_after });
                    return Poll::Ready(Err(BreakerError::Open(open)));
                }
            };
            *this.permit = Some(Permit {
                breaker: *this.breaker,
                ticket,
                admitted,
            });
        }
        if this.permit.is_none() {
            panic!("`breaker::Run` polled after completion");
        }
        let out = core::task::ready!(this.work.poll(cx));
        let outcome = (this.classify)(&out);
        if let Some(permit) = this.permit.take() {
            let timer = &*this.timer;
            if let Some(t) = permit.finish(&mut Now::lazy(&|| timer.now()), outcome) {
                this.observer.emit(|| Event::BreakerTransition(t));
            }
        }
        Poll::Ready(out.map_err(BreakerError::Failed))
    }
}

impl<T, F: Future, O> fmt::Debug for Run<'_, T, F, O> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Run")
            .field("started", &self.started)
            .field("admitted", &self.permit.is_some())
            .finish_non_exhaustive()
    }
}
