//! The future of a hedged pipeline call: hedging in the retry stage's place.

use core::fmt;
use core::future::{Future, Ready};
use core::pin::Pin;
use core::task::{Context, Poll, ready};
use core::time::Duration;

use pin_project_lite::pin_project;

use super::attempt::{Admit, Attempts, Bounded, Hooks, Refusal, retryable, suggested_delay};
use super::fallback::{Fallback, Plan};
use super::{Pipeline, PipelineError};
use crate::Timer;
use crate::breaker::Outcome;
use crate::bulkhead;
use crate::hedge::{Hedge, HedgeError, HedgePolicy};
use crate::observe::{Event, Observe};
use crate::retry::{GiveUpReason, MakeAttempt, RetryBudget, RetryError};
use crate::timeout::timeout_at_observed;

type Error<M> = Refusal<<M as MakeAttempt>::Error>;
type HedgeFut<'p, T, M, O> = Hedge<
    Attempts<'p, T, M, O>,
    T,
    &'p RetryBudget,
    fn(&Error<M>) -> bool,
    fn(&Error<M>) -> Option<Duration>,
    O,
>;
type Output<M> = Result<<M as MakeAttempt>::Value, PipelineError<<M as MakeAttempt>::Error>>;
type FallbackFn<M> = fn(PipelineError<<M as MakeAttempt>::Error>) -> Ready<Output<M>>;

pin_project! {
    #[project = StateProj]
    enum State<'p, T: Timer, M: MakeAttempt, O: Observe> {
        Start,
        Admitting { #[pin] admit: Admit<'p, T, O> },
        Running { #[pin] run: Bounded<HedgeFut<'p, T, M, O>, T, O> },
        Done,
    }
}

pin_project! {
    /// The future of [`Pipeline::call_hedged`]: the operation run through the pipeline's
    /// stages with a [`HedgePolicy`] in the retry stage's place, with one error,
    /// [`PipelineError`].
    ///
    /// Each hedged attempt passes the breaker, the limiter, the bulkhead and the attempt
    /// timeout on its own, and a losing attempt, dropped in the poll the winner returns,
    /// gives back its bulkhead permit and its breaker permit unrecorded. The total timeout
    /// bounds the whole call and stops hedges; the pipeline's retry budget throttles them.
    /// An attempt timeout or an error [`retry_when`](Hedged::retry_when) accepts (by
    /// default every error) starts the next hedge at once; another error is fatal and cancels
    /// every attempt in flight. The stages' refusals follow the retry rule: an open circuit or
    /// a rate limit is waited out (before the next hedge) only when its wait fits the
    /// deadline, otherwise the call ends with it.
    ///
    /// Dropping it at any point drops every attempt in flight; nothing is held afterwards.
    /// It allocates nothing. `O` is the call's [observer](crate::observe), `()` unless set
    /// with [`observe`](Hedged::observe).
    #[must_use = "a pipeline call does nothing unless awaited"]
    #[project = HedgedProj]
    pub struct Hedged<'p, T: Timer, M: MakeAttempt, O: Observe = ()> {
        #[pin]
        state: State<'p, T, M, O>,
        permit: Option<bulkhead::Permit<'p>>,
        pipeline: &'p Pipeline<'p>,
        policy: HedgePolicy,
        timer: T,
        make: Option<M>,
        hooks: Hooks<M::Error>,
        observer: O,
        started: O::Stamp,
    }
}

impl<'p, T: Timer, M: MakeAttempt> Hedged<'p, T, M> {
    pub(super) fn new(pipeline: &'p Pipeline<'p>, timer: &T, policy: HedgePolicy, make: M) -> Self {
        Hedged {
            state: State::Start,
            permit: None,
            pipeline,
            policy,
            timer: timer.clone(),
            make: Some(make),
            hooks: Hooks::default(),
            observer: (),
            started: (),
        }
    }
}

impl<'p, T: Timer, M: MakeAttempt, O: Observe> Hedged<'p, T, M, O> {
    /// Reports the call's events, and every stage's, to `observer`: see
    /// [`Call::observe`](super::Call::observe); the hedge stage adds each hedge launched and
    /// the winner.
    #[inline(always)]
    pub fn observe<O2: Observe>(self, observer: O2) -> Hedged<'p, T, M, O2> {
        Hedged {
            state: State::Start,
            permit: None,
            pipeline: self.pipeline,
            policy: self.policy,
            timer: self.timer,
            make: self.make,
            hooks: self.hooks,
            observer,
            started: O2::BLANK,
        }
    }

    /// Which of the operation's errors start the next hedge at once (non-fatal, by default
    /// every error); another error is fatal: it cancels every attempt in flight and ends the
    /// call with [`PipelineError::Failed`].
    #[inline(always)]
    pub fn retry_when(mut self, predicate: fn(&M::Error) -> bool) -> Self {
        self.hooks.when = predicate;
        self
    }

    /// Lets the operation's error suggest the delay before the next hedge (pushback); the
    /// hedging stops when it would end past the deadline.
    #[inline(always)]
    pub fn retry_after(mut self, hint: fn(&M::Error) -> Option<Duration>) -> Self {
        self.hooks.hint = hint;
        self
    }

    /// How the breaker counts an error of the operation (see [`Call::classify`](super::Call::classify)).
    #[inline(always)]
    pub fn classify(mut self, classify: fn(&M::Error) -> Outcome) -> Self {
        self.hooks.classify = classify;
        self
    }

    /// Outermost of all: see [`Call::fallback`](super::Call::fallback).
    #[inline(always)]
    pub fn fallback<F, Fut>(
        self,
        when: fn(&PipelineError<M::Error>) -> bool,
        fallback: F,
    ) -> Fallback<'p, T, M, F, Fut, Self>
    where
        F: FnOnce(PipelineError<M::Error>) -> Fut,
        Fut: Future<Output = Result<M::Value, PipelineError<M::Error>>>,
    {
        Fallback::new(self, when, Plan::Make(fallback))
    }

    /// Outermost of all: see [`Call::fallback_value`](super::Call::fallback_value).
    #[inline(always)]
    pub fn fallback_value(
        self,
        when: fn(&PipelineError<M::Error>) -> bool,
        value: M::Value,
    ) -> Fallback<'p, T, M, FallbackFn<M>, Ready<Output<M>>, Self> {
        Fallback::new(self, when, Plan::Value(value))
    }

    fn start(
        pipeline: &'p Pipeline<'p>,
        timer: &T,
        policy: &HedgePolicy,
        make: M,
        hooks: Hooks<M::Error>,
        observer: &O,
    ) -> Bounded<HedgeFut<'p, T, M, O>, T, O> {
        let (mut total, mut deadline) = (None, None);
        if pipeline.total_timeout.is_some() || policy.max_elapsed().is_some() {
            let now = timer.now();
            total = pipeline.total_timeout.map(|d| now.saturating_add(d));
            let elapsed = policy.max_elapsed().map(|d| now.saturating_add(d));
            deadline = match (total, elapsed) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
        }
        let attempts = Attempts {
            pipeline,
            timer: timer.clone(),
            make,
            hooks,
            deadline,
            observer: observer.clone(),
        };
        let hedge = Hedge::assembled(*policy, timer.clone(), attempts, observer.clone())
            .when(retryable::<M::Error> as fn(&Refusal<M::Error>) -> bool)
            .retry_after(suggested_delay::<M::Error> as fn(&Refusal<M::Error>) -> _);
        let hedge: HedgeFut<'p, T, M, O> = match pipeline.budget {
            Some(budget) => hedge.budget(budget),
            None => hedge,
        };
        match total {
            Some(at) => Bounded::Timed {
                future: timeout_at_observed(timer, at, hedge.deadline(at), observer.clone()),
            },
            None => Bounded::Free { future: hedge },
        }
    }
}

/// The hedge stage's verdict as the pipeline's error.
fn gave_up<E>(err: HedgeError<Refusal<E>>, pipeline: &Pipeline<'_>) -> PipelineError<E> {
    let (attempts, reason) = (err.attempts(), err.reason());
    match err.into_error() {
        Some(Refusal::Failed { error, .. }) if reason == GiveUpReason::Permanent => {
            PipelineError::Failed(error)
        }
        Some(Refusal::Failed { error, .. }) => {
            PipelineError::RetriesExhausted(RetryError::failed(error, attempts, reason))
        }
        Some(Refusal::TimedOut(limit)) => {
            PipelineError::RetriesExhausted(RetryError::timed_out(limit, attempts, reason))
        }
        Some(Refusal::Open { open, .. }) => PipelineError::CircuitOpen(open),
        Some(Refusal::Limited { limit, .. }) => PipelineError::RateLimited(limit),
        Some(Refusal::Full(why)) => PipelineError::BulkheadRejected(why),
        None => PipelineError::Timeout(pipeline.total_timeout.unwrap_or(Duration::ZERO)),
    }
}

/// The call ended with `out`: reported, then returned.
fn end<T: Timer, M: MakeAttempt, O: Observe>(
    this: &HedgedProj<'_, '_, T, M, O>,
    out: Output<M>,
) -> Poll<Output<M>> {
    let (duration, _) = this.observer.since(&*this.timer, *this.started);
    let ok = out.is_ok();
    this.observer.emit(|| Event::CallEnded { duration, ok });
    Poll::Ready(out)
}

impl<T: Timer, M: MakeAttempt, O: Observe> Future for Hedged<'_, T, M, O> {
    type Output = Result<M::Value, PipelineError<M::Error>>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        let pipeline = *this.pipeline;
        loop {
            match this.state.as_mut().project() {
                StateProj::Start => {
                    *this.started = this.observer.start(&*this.timer, 0);
                    this.observer.emit(|| Event::CallStarted);
                    match pipeline.bulkhead {
                        Some((bulkhead, max_wait)) if pipeline.bulkhead_outermost => {
                            let admit = Admit::new(bulkhead, max_wait, this.timer, this.observer);
                            this.state.set(State::Admitting { admit });
                        }
                        _ => {
                            let Some(make) = this.make.take() else {
                                panic!("a pipeline call polled after completion");
                            };
                            let (policy, hooks) = (&*this.policy, *this.hooks);
                            let run = Self::start(
                                pipeline,
                                this.timer,
                                policy,
                                make,
                                hooks,
                                this.observer,
                            );
                            this.state.set(State::Running { run });
                        }
                    }
                }
                StateProj::Admitting { admit } => match ready!(admit.poll(cx)) {
                    Ok(permit) => {
                        *this.permit = Some(permit);
                        let Some(make) = this.make.take() else {
                            panic!("a pipeline call polled after completion");
                        };
                        let (policy, hooks) = (&*this.policy, *this.hooks);
                        let run =
                            Self::start(pipeline, this.timer, policy, make, hooks, this.observer);
                        this.state.set(State::Running { run });
                    }
                    Err(why) => {
                        this.state.set(State::Done);
                        return end(&this, Err(PipelineError::BulkheadRejected(why)));
                    }
                },
                StateProj::Running { run } => {
                    let out = ready!(run.poll(cx));
                    this.state.set(State::Done);
                    *this.permit = None;
                    let out = match out {
                        Some(Ok(value)) => Ok(value),
                        Some(Err(err)) => Err(gave_up(err, pipeline)),
                        None => Err(PipelineError::Timeout(
                            pipeline.total_timeout.unwrap_or(Duration::ZERO),
                        )),
                    };
                    return end(&this, out);
                }
                StateProj::Done => panic!("a pipeline call polled after completion"),
            }
        }
    }
}

impl<T: Timer, M: MakeAttempt, O: Observe> fmt::Debug for Hedged<'_, T, M, O> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match self.state {
            State::Start => "start",
            State::Admitting { .. } => "waiting for the bulkhead",
            State::Running { .. } => "running",
            State::Done => "done",
        };
        f.debug_struct("Hedged")
            .field("state", &state)
            .finish_non_exhaustive()
    }
}
