//! The fallback stage, outermost of all: a value or a future for chosen failures.

use core::fmt;
use core::future::{Future, Ready};
use core::marker::PhantomData;
use core::pin::Pin;
use core::task::{Context, Poll, ready};

use pin_project_lite::pin_project;

use super::{Call, PipelineError};
use crate::Timer;
use crate::retry::MakeAttempt;

/// What the fallback gives: a value, or a future made from the error.
pub(super) enum Plan<V, F> {
    Value(V),
    Make(F),
}

pin_project! {
    #[project = StateProj]
    enum State<C, Fut> {
        Primary { #[pin] call: C },
        Secondary { #[pin] fallback: Fut },
        Done,
    }
}

/// The error of a call through `M`.
type Error<M> = PipelineError<<M as MakeAttempt>::Error>;
/// The output of a call through `M`.
type Output<M> = Result<<M as MakeAttempt>::Value, Error<M>>;

pin_project! {
    /// A [`Call`] with a fallback, from [`Call::fallback`] or [`Call::fallback_value`]: the
    /// call's output, or, when it failed with an error the fallback's predicate chooses, the
    /// fallback's value or the output of the future it made from the error.
    ///
    /// `F` and `Fut` are the function that makes the fallback's future and that future; with
    /// [`fallback_value`](Call::fallback_value) they are function pointer and
    /// [`Ready`] defaults, so `Fallback<'static, TokioTimer, MyOp>` names it. `C` is the call
    /// it wraps: a [`Call`], or a [`Hedged`](super::Hedged) call.
    #[must_use = "a pipeline call does nothing unless awaited"]
    pub struct Fallback<
        'p,
        T: Timer,
        M: MakeAttempt,
        F = fn(Error<M>) -> Ready<Output<M>>,
        Fut = Ready<Output<M>>,
        C = Call<'p, T, M>,
    > {
        #[pin]
        state: State<C, Fut>,
        marker: PhantomData<(&'p (), fn() -> T)>,
        when: fn(&Error<M>) -> bool,
        plan: Option<Plan<M::Value, F>>,
    }
}

impl<T: Timer, M: MakeAttempt, F, Fut, C> Fallback<'_, T, M, F, Fut, C> {
    pub(super) fn new(call: C, when: fn(&Error<M>) -> bool, plan: Plan<M::Value, F>) -> Self {
        Fallback {
            state: State::Primary { call },
            marker: PhantomData,
            when,
            plan: Some(plan),
        }
    }
}

impl<T, M, F, Fut, C> Future for Fallback<'_, T, M, F, Fut, C>
where
    T: Timer,
    M: MakeAttempt,
    F: FnOnce(Error<M>) -> Fut,
    Fut: Future<Output = Output<M>>,
    C: Future<Output = Output<M>>,
{
    type Output = Output<M>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        loop {
            match this.state.as_mut().project() {
                StateProj::Primary { call } => {
                    let out = ready!(call.poll(cx));
                    // The call and everything it held go before the fallback starts.
                    this.state.set(State::Done);
                    let err = match out {
                        Err(err) if (this.when)(&err) => err,
                        out => return Poll::Ready(out),
                    };
                    match this.plan.take() {
                        Some(Plan::Value(value)) => return Poll::Ready(Ok(value)),
                        Some(Plan::Make(make)) => this.state.set(State::Secondary {
                            fallback: make(err),
                        }),
                        None => return Poll::Ready(Err(err)),
                    }
                }
                StateProj::Secondary { fallback } => {
                    let out = ready!(fallback.poll(cx));
                    this.state.set(State::Done);
                    return Poll::Ready(out);
                }
                StateProj::Done => panic!("a pipeline fallback polled after completion"),
            }
        }
    }
}

impl<T: Timer, M: MakeAttempt, F, Fut, C> fmt::Debug for Fallback<'_, T, M, F, Fut, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match self.state {
            State::Primary { .. } => "call",
            State::Secondary { .. } => "fallback",
            State::Done => "done",
        };
        f.debug_struct("Fallback")
            .field("state", &state)
            .finish_non_exhaustive()
    }
}
