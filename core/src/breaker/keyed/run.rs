//! The future of [`KeyedBreaker::run`](super::KeyedBreaker::run).

use core::fmt;
use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll};

use pin_project_lite::pin_project;

use super::{Admit, KeyedError, KeyedPermit};
use crate::Timer;
use crate::breaker::Outcome;
use crate::breaker::run::by_result;

pin_project! {
    /// A call run through a keyed breaker: admitted for its key on its first poll, its outcome
    /// recorded when it ends; dropped before that, it records nothing.
    #[must_use = "futures do nothing unless awaited or polled"]
    pub struct KeyedRun<'a, K, T, F>
    where
        F: Future,
    {
        breaker: &'a (dyn Admit<K> + Sync),
        key: K,
        timer: T,
        permit: Option<KeyedPermit<'a>>,
        started: bool,
        classify: fn(&F::Output) -> Outcome,
        #[pin]
        work: F,
    }
}

impl<'a, K, T, F, V, E> KeyedRun<'a, K, T, F>
where
    F: Future<Output = Result<V, E>>,
{
    pub(super) fn new(breaker: &'a (dyn Admit<K> + Sync), key: K, timer: T, work: F) -> Self {
        KeyedRun {
            breaker,
            key,
            timer,
            permit: None,
            started: false,
            classify: by_result::<V, E>,
            work,
        }
    }

    /// Counts outcomes with `classify` instead of "an `Err` is a failure".
    #[inline(always)]
    pub fn classify(mut self, classify: fn(&Result<V, E>) -> Outcome) -> Self {
        self.classify = classify;
        self
    }
}

impl<K, T, F, V, E> Future for KeyedRun<'_, K, T, F>
where
    T: Timer,
    F: Future<Output = Result<V, E>>,
{
    type Output = Result<V, KeyedError<E>>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        if !*this.started {
            *this.started = true;
            let now = this.timer.now();
            match this.breaker.admit(this.key, now) {
                Ok((slot, ticket, admitted)) => {
                    *this.permit = Some(KeyedPermit {
                        breaker: this.breaker.slots(),
                        slot,
                        ticket,
                        admitted,
                    });
                }
                Err(e) => {
                    return Poll::Ready(Err(e.refusal().unwrap_or(KeyedError::TableFull)));
                }
            }
        }
        if this.permit.is_none() {
            panic!("`breaker::KeyedRun` polled after completion");
        }
        let out = core::task::ready!(this.work.poll(cx));
        let outcome = (this.classify)(&out);
        if let Some(permit) = this.permit.take() {
            permit.record(this.timer.now(), outcome);
        }
        Poll::Ready(out.map_err(KeyedError::Failed))
    }
}

impl<K, T, F: Future> fmt::Debug for KeyedRun<'_, K, T, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyedRun")
            .field("started", &self.started)
            .field("admitted", &self.permit.is_some())
            .finish_non_exhaustive()
    }
}
