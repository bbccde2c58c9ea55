//! The future of one pipeline call: the outer stages (bulkhead when outermost, total timeout,
//! retry) around the attempts.

use core::fmt;
use core::future::{Future, Ready};
use core::pin::Pin;
use core::task::{Context, Poll, ready};
use core::time::Duration;

use pin_project_lite::pin_project;

use super::attempt::{Admit, Attempts, Bounded, Hooks, Refusal, retryable, suggested_delay};
use super::fallback::{Fallback, Plan};
use super::{Pipeline, PipelineError};
use crate::breaker::Outcome;
use crate::bulkhead;
use crate::observe::{Event, Observe};
use crate::retry::{
    GiveUpReason, MakeAttempt, Notice, Retry, RetryBudget, RetryError, RetryPolicy,
};
use crate::timeout::timeout_at_observed;
use crate::{Instant, Timer};

/// The policy of a pipeline without a retry stage: one attempt.
static SINGLE: RetryPolicy = RetryPolicy::builder().max_attempts(1).build_const();

type Error<M> = Refusal<<M as MakeAttempt>::Error>;
type Value<M> = <M as MakeAttempt>::Value;
type RetryFut<'p, T, M, O> = Retry<
    Attempts<'p, T, M, O>,
    T,
    &'p RetryPolicy,
    &'p RetryBudget,
    fn(&Error<M>) -> bool,
    fn(&Value<M>) -> bool,
    fn(&Error<M>) -> Option<Duration>,
    fn(&Notice<'_, Value<M>, Error<M>>),
    O,
>;

pin_project! {
    #[project = StateProj]
    enum State<'p, T: Timer, M: MakeAttempt, O: Observe> {
        Start,
        Admitting { #[pin] admit: Admit<'p, T, O> },
        Running { #[pin] run: Bounded<RetryFut<'p, T, M, O>, T, O> },
        Done,
    }
}

pin_project! {
    /// The future of [`Pipeline::call`]: the operation run through every stage of the
    /// pipeline, with one error, [`PipelineError`].
    ///
    /// Set on it what depends on the operation's error type: which errors to retry
    /// ([`retry_when`](Call::retry_when)), the delay an error suggests
    /// ([`retry_after`](Call::retry_after)), how the breaker counts an error
    /// ([`classify`](Call::classify)), and a [`fallback`](Call::fallback). The hooks are
    /// function pointers, so the type stays nameable: `Call<'static, TokioTimer, MyOp>`. `O`
    /// is the call's [observer](crate::observe), `()` unless set with
    /// [`observe`](Call::observe).
    ///
    /// Nothing runs until it is polled. Dropping it at any point cancels the call: the
    /// running attempt, a wait or a sleep is dropped, and every stage gets back what it lent
    /// (the bulkhead permit, the breaker's probe slot unrecorded, the limiter's place in
    /// line). It allocates nothing, and is `Send` when the timer and the operation are.
    #[must_use = "a pipeline call does nothing unless awaited"]
    #[project = CallProj]
    pub struct Call<'p, T: Timer, M: MakeAttempt, O: Observe = ()> {
        // First: the call's stages go before the outermost bulkhead's permit.
        #[pin]
        state: State<'p, T, M, O>,
        permit: Option<bulkhead::Permit<'p>>,
        pipeline: &'p Pipeline<'p>,
        timer: T,
        make: Option<M>,
        hooks: Hooks<M::Error>,
        observer: O,
        started: O::Stamp,
    }
}

impl<'p, T: Timer, M: MakeAttempt> Call<'p, T, M> {
    pub(super) fn new(pipeline: &'p Pipeline<'p>, timer: &T, make: M) -> Self {
        Call {
            state: State::Start,
            permit: None,
            pipeline,
            timer: timer.clone(),
            make: Some(make),
            hooks: Hooks::default(),
            observer: (),
            started: (),
        }
    }
}

impl<'p, T: Timer, M: MakeAttempt, O: Observe> Call<'p, T, M, O> {
    /// Reports the call's events, and every stage's, to `observer` (see
    /// [`crate::observe`]): the call's start and end, each attempt's, each retry, the
    /// budget's, the breaker's, the limiter's and the bulkhead's refusals and waits, the
    /// breaker's transitions the call causes, the timeouts. Each stage keeps a copy of
    /// `observer`: pass a reference.
    #[inline(always)]
    pub fn observe<O2: Observe>(self, observer: O2) -> Call<'p, T, M, O2> {
        Call {
            state: State::Start,
            permit: None,
            pipeline: self.pipeline,
            timer: self.timer,
            make: self.make,
            hooks: self.hooks,
            observer,
            started: O2::BLANK,
        }
    }

    /// Retries only the operation's errors for which `predicate` is `true` (transient ones);
    /// another error ends the call with [`PipelineError::Failed`]. By default every error is
    /// retried (within the retry policy). An attempt timeout is always retried; the stages'
    /// own refusals follow the pipeline's rule (see the [module docs](super#retry-and-the-stages-refusals)).
    #[inline(always)]
    pub fn retry_when(mut self, predicate: fn(&M::Error) -> bool) -> Self {
        self.hooks.when = predicate;
        self
    }

    /// Lets the operation's error suggest the delay before the next attempt (Retry-After):
    /// it replaces the policy's delay, and the call gives up when it would end past the
    /// deadline.
    #[inline(always)]
    pub fn retry_after(mut self, hint: fn(&M::Error) -> Option<Duration>) -> Self {
        self.hooks.hint = hint;
        self
    }

    /// How the breaker counts an error of the operation (by default every error is a
    /// [`Outcome::Failure`]; a 404, say, could be [`Outcome::Ignored`]). A value is a
    /// success, an attempt timeout a failure.
    #[inline(always)]
    pub fn classify(mut self, classify: fn(&M::Error) -> Outcome) -> Self {
        self.hooks.classify = classify;
        self
    }

    /// Outermost of all: when the call fails with an error for which `when` is `true`, runs
    /// the future `fallback(error)` makes and returns its output instead (it may give the
    /// error back). Other errors, and values, pass through.
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

    /// Outermost of all: when the call fails with an error for which `when` is `true`,
    /// returns `value` instead.
    #[inline(always)]
    pub fn fallback_value(
        self,
        when: fn(&PipelineError<M::Error>) -> bool,
        value: M::Value,
    ) -> Fallback<'p, T, M, FallbackFn<M>, Ready<Output<M>>, Self> {
        Fallback::new(self, when, Plan::Value(value))
    }

    /// The call ended with `out`: reported, then returned.
    fn end(this: &CallProj<'_, 'p, T, M, O>, out: Output<M>) -> Poll<Output<M>> {
        let (duration, _) = this.observer.since(&*this.timer, *this.started);
        let ok = out.is_ok();
        this.observer.emit(|| Event::CallEnded { duration, ok });
        Poll::Ready(out)
    }
}

type Output<M> = Result<<M as MakeAttempt>::Value, PipelineError<<M as MakeAttempt>::Error>>;
type FallbackFn<M> = fn(PipelineError<<M as MakeAttempt>::Error>) -> Ready<Output<M>>;

impl<'p, T: Timer, M: MakeAttempt, O: Observe> Call<'p, T, M, O> {
    /// The retry stage around the attempts, under the total timeout: started at the call's
    /// first poll (or once the outermost bulkhead admitted it).
    fn start(
        pipeline: &'p Pipeline<'p>,
        timer: &T,
        make: M,
        hooks: Hooks<M::Error>,
        observer: &O,
    ) -> Bounded<RetryFut<'p, T, M, O>, T, O> {
        let policy: &'p RetryPolicy = match &pipeline.retry {
            Some(policy) => policy,
            None => &SINGLE,
        };
        let (mut total, mut deadline) = (None, None);
        if pipeline.total_timeout.is_some() || policy.max_elapsed().is_some() {
            let now = timer.now();
            total = pipeline.total_timeout.map(|d| now.saturating_add(d));
            let elapsed = policy.max_elapsed().map(|d| now.saturating_add(d));
            deadline = earlier(total, elapsed);
        }
        let attempts = Attempts {
            pipeline,
            timer: timer.clone(),
            make,
            hooks,
            deadline,
            observer: observer.clone(),
        };
        let retry: RetryFut<'p, T, M, O> = Retry::assembled(
            attempts,
            timer,
            policy,
            pipeline.budget,
            retryable::<M::Error>,
            suggested_delay::<M::Error>,
            total,
            observer.clone(),
        );
        match total {
            Some(at) => Bounded::Timed {
                future: timeout_at_observed(timer, at, retry, observer.clone()),
            },
            None => Bounded::Free { future: retry },
        }
    }
}

fn earlier(a: Option<Instant>, b: Option<Instant>) -> Option<Instant> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// The retry stage's verdict as the pipeline's error.
fn gave_up<E>(err: RetryError<Refusal<E>>, pipeline: &Pipeline<'_>) -> PipelineError<E> {
    let (attempts, reason) = (err.attempts(), err.reason());
    let retrying = pipeline.retry.is_some();
    match err.into_error() {
        Some(Refusal::Failed { error, .. }) => {
            if retrying && reason != GiveUpReason::Permanent {
                PipelineError::RetriesExhausted(RetryError::failed(error, attempts, reason))
            } else {
                PipelineError::Failed(error)
            }
        }
        Some(Refusal::TimedOut(limit)) if retrying => {
            PipelineError::RetriesExhausted(RetryError::timed_out(limit, attempts, reason))
        }
        Some(Refusal::TimedOut(limit)) => PipelineError::AttemptTimeout(limit),
        Some(Refusal::Open { open, .. }) => PipelineError::CircuitOpen(open),
        Some(Refusal::Limited { limit, .. }) => PipelineError::RateLimited(limit),
        Some(Refusal::Full(why)) => PipelineError::BulkheadRejected(why),
        // No attempt was made: the deadline had passed at the start.
        None => PipelineError::Timeout(pipeline.total_timeout.unwrap_or(Duration::ZERO)),
    }
}

impl<T: Timer, M: MakeAttempt, O: Observe> Future for Call<'_, T, M, O> {
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
                            let run =
                                Self::start(pipeline, this.timer, make, *this.hooks, this.observer);
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
                        let run =
                            Self::start(pipeline, this.timer, make, *this.hooks, this.observer);
                        this.state.set(State::Running { run });
                    }
                    Err(why) => {
                        this.state.set(State::Done);
                        return Self::end(&this, Err(PipelineError::BulkheadRejected(why)));
                    }
                },
                StateProj::Running { run } => {
                    let out = ready!(run.poll(cx));
                    // Everything inside goes first, then the outermost permit.
                    this.state.set(State::Done);
                    *this.permit = None;
                    let out = match out {
                        Some(Ok(value)) => Ok(value),
                        Some(Err(err)) => Err(gave_up(err, pipeline)),
                        None => Err(PipelineError::Timeout(
                            pipeline.total_timeout.unwrap_or(Duration::ZERO),
                        )),
                    };
                    return Self::end(&this, out);
                }
                StateProj::Done => panic!("a pipeline call polled after completion"),
            }
        }
    }
}

impl<T: Timer, M: MakeAttempt, O: Observe> fmt::Debug for Call<'_, T, M, O> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match self.state {
            State::Start => "start",
            State::Admitting { .. } => "waiting for the bulkhead",
            State::Running { .. } => "running",
            State::Done => "done",
        };
        f.debug_struct("Call")
            .field("state", &state)
            .finish_non_exhaustive()
    }
}
