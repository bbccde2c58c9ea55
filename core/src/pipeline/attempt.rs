//! One attempt through the inner stages: circuit breaker → rate limiter → bulkhead → attempt
//! timeout → operation, each the crate's own pattern.

use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll, ready};
use core::time::Duration;

use pin_project_lite::pin_project;

use super::Pipeline;
use crate::breaker::{self, BreakerError, CircuitOpen, Outcome};
use crate::bulkhead::{self, Bulkhead, Rejected};
use crate::limiter::{self, LimitError};
use crate::observe::Observe;
use crate::retry::MakeAttempt;
use crate::timeout::{Timeout, timeout_observed};
use crate::{Instant, Timer};

/// How one attempt ended short of a value: the operation's error with the caller's verdicts
/// on it, the attempt timeout, or a stage's refusal. The retry stage sees these.
pub(super) enum Refusal<E> {
    /// The operation ran and failed.
    Failed {
        error: E,
        /// The caller's `retry_when` verdict.
        retry: bool,
        /// The caller's `retry_after` suggestion.
        hint: Option<Duration>,
        /// How the breaker counts it.
        outcome: Outcome,
    },
    /// The operation ran out of its attempt timeout and was dropped.
    TimedOut(Duration),
    /// The breaker turned the attempt away. `retry`: the call has a deadline and the breaker
    /// said when to come back (the retry stage then waits only if that fits the deadline).
    Open { open: CircuitOpen, retry: bool },
    /// The limiter refused the cells; `retry` as for `Open`.
    Limited { limit: LimitError, retry: bool },
    /// The bulkhead turned the attempt away: never retried (shedding load locally is the
    /// point of a bulkhead).
    Full(Rejected),
}

/// The retry stage's predicate: what [`Refusal`] says.
pub(super) fn retryable<E>(r: &Refusal<E>) -> bool {
    match r {
        Refusal::Failed { retry, .. }
        | Refusal::Open { retry, .. }
        | Refusal::Limited { retry, .. } => *retry,
        Refusal::TimedOut(_) => true,
        Refusal::Full(_) => false,
    }
}

/// The retry stage's suggested delay: the caller's, or the breaker's or limiter's wait.
pub(super) fn suggested_delay<E>(r: &Refusal<E>) -> Option<Duration> {
    match r {
        Refusal::Failed { hint, .. } => *hint,
        Refusal::Open { open, .. } => open.retry_after(),
        Refusal::Limited { limit, .. } => limit.retry_after(),
        Refusal::TimedOut(_) | Refusal::Full(_) => None,
    }
}

/// How the breaker counts an attempt: a timeout is a failure, another stage's refusal is
/// not counted (a probe's slot is freed).
fn classify<V, E>(result: &Result<V, Refusal<E>>) -> Outcome {
    match result {
        Ok(_) => Outcome::Success,
        Err(Refusal::Failed { outcome, .. }) => *outcome,
        Err(Refusal::TimedOut(_)) => Outcome::Failure,
        Err(_) => Outcome::Ignored,
    }
}

/// The caller's hooks on the operation's error, function pointers so that the call's future
/// can be named.
pub(super) struct Hooks<E> {
    pub(super) when: fn(&E) -> bool,
    pub(super) hint: fn(&E) -> Option<Duration>,
    pub(super) classify: fn(&E) -> Outcome,
}

impl<E> Clone for Hooks<E> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<E> Copy for Hooks<E> {}

pub(super) fn always<E>(_: &E) -> bool {
    true
}

pub(super) fn no_hint<E>(_: &E) -> Option<Duration> {
    None
}

pub(super) fn failure<E>(_: &E) -> Outcome {
    Outcome::Failure
}

impl<E> Default for Hooks<E> {
    fn default() -> Self {
        Hooks {
            when: always::<E>,
            hint: no_hint::<E>,
            classify: failure::<E>,
        }
    }
}

/// What the retry stage calls for each attempt: the caller's operation behind the inner
/// stages.
pub(super) struct Attempts<'p, T, M: MakeAttempt, O> {
    pub(super) pipeline: &'p Pipeline<'p>,
    pub(super) timer: T,
    pub(super) make: M,
    pub(super) hooks: Hooks<M::Error>,
    /// The call's deadline, when it has one: the total timeout's, or the retry policy's
    /// `max_elapsed`, the earlier. The limiter's wait is bounded by it, and a refusal with a
    /// suggested wait is retried only when there is one (and the wait fits it).
    pub(super) deadline: Option<Instant>,
    pub(super) observer: O,
}

impl<'p, T: Timer, M: MakeAttempt, O: Observe> MakeAttempt for Attempts<'p, T, M, O> {
    type Value = M::Value;
    type Error = Refusal<M::Error>;
    type Future = Attempt<'p, T, M::Future, M::Value, M::Error, O>;

    fn make_attempt(&mut self) -> Self::Future {
        let inner = Admitted {
            stage: Stage::Start,
            permit: None,
            work: Some(self.make.make_attempt()),
            pipeline: self.pipeline,
            timer: self.timer.clone(),
            deadline: self.deadline,
            hooks: self.hooks,
            observer: self.observer.clone(),
        };
        match self.pipeline.breaker {
            Some(b) => Attempt::Guarded {
                run: b.run(&self.timer, inner, classify, self.observer.clone()),
                bounded: self.deadline.is_some(),
            },
            None => Attempt::Bare { inner },
        }
    }
}

pin_project! {
    /// The bulkhead's admission, waiting as the bulkhead says or at most a given time.
    #[project = AdmitProj]
    pub(super) enum Admit<'p, T: Timer, O> {
        Wait { #[pin] acquire: bulkhead::Acquire<'p, O> },
        Within { #[pin] acquire: bulkhead::AcquireWithin<'p, T, O> },
    }
}

impl<'p, T: Timer, O: Observe> Admit<'p, T, O> {
    pub(super) fn new(
        bulkhead: &'p Bulkhead,
        max_wait: Option<Duration>,
        timer: &T,
        observer: &O,
    ) -> Self {
        match max_wait {
            None => Admit::Wait {
                acquire: bulkhead.acquire().observe(observer.clone()),
            },
            Some(max) => Admit::Within {
                acquire: bulkhead
                    .acquire_within(timer, max)
                    .observe(observer.clone()),
            },
        }
    }
}

impl<'p, T: Timer, O: Observe> Future for Admit<'p, T, O> {
    type Output = Result<bulkhead::Permit<'p>, Rejected>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project() {
            AdmitProj::Wait { acquire } => acquire.poll(cx),
            AdmitProj::Within { acquire } => acquire.poll(cx),
        }
    }
}

pin_project! {
    /// A future, bounded by a timeout or not.
    #[project = BoundedProj]
    pub(super) enum Bounded<F, T: Timer, O> {
        Free { #[pin] future: F },
        Timed { #[pin] future: Timeout<F, T, O> },
    }
}

impl<F: Future, T: Timer, O: Observe> Future for Bounded<F, T, O> {
    type Output = Option<F::Output>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project() {
            BoundedProj::Free { future } => future.poll(cx).map(Some),
            BoundedProj::Timed { future } => future.poll(cx).map(Result::ok),
        }
    }
}

pin_project! {
    #[project = StageProj]
    enum Stage<'p, T: Timer, F, O> {
        Start,
        Limit { #[pin] acquire: limiter::Acquire<'p, T, O> },
        Queue { #[pin] admit: Admit<'p, T, O> },
        Run { #[pin] work: Bounded<F, T, O> },
        Done,
    }
}

pin_project! {
    /// The stages inside the breaker: limiter, bulkhead, attempt timeout, operation.
    pub(super) struct Admitted<'p, T: Timer, F, E, O> {
        // First: the operation is dropped before the bulkhead permit.
        #[pin]
        stage: Stage<'p, T, F, O>,
        permit: Option<bulkhead::Permit<'p>>,
        work: Option<F>,
        pipeline: &'p Pipeline<'p>,
        timer: T,
        deadline: Option<Instant>,
        hooks: Hooks<E>,
        observer: O,
    }
}

impl<T: Timer, F, V, E, O: Observe> Future for Admitted<'_, T, F, E, O>
where
    F: Future<Output = Result<V, E>>,
{
    type Output = Result<V, Refusal<E>>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        let pipeline: &Pipeline<'_> = this.pipeline;
        loop {
            match this.stage.as_mut().project() {
                StageProj::Start => match pipeline.limiter {
                    Some((limiter, max_wait)) => {
                        // The wait is bounded by the call's deadline: a refusal now, with
                        // the predicted wait, beats waiting until the deadline cuts it.
                        let left = this
                            .deadline
                            .map(|d| d.saturating_duration_since(this.timer.now()));
                        let max = match (max_wait, left) {
                            (Some(a), Some(b)) => Some(a.min(b)),
                            (a, b) => a.or(b),
                        };
                        let acquire = match max {
                            Some(max) => limiter.acquire_within(this.timer, 1, max),
                            None => limiter.acquire(this.timer, 1),
                        }
                        .observe(this.observer.clone());
                        this.stage.set(Stage::Limit { acquire });
                    }
                    None => this.stage.set(after_limiter(
                        pipeline,
                        this.timer,
                        this.work,
                        this.observer,
                    )),
                },
                StageProj::Limit { acquire } => {
                    if let Err(limit) = ready!(acquire.poll(cx)) {
                        this.stage.set(Stage::Done);
                        let retry = this.deadline.is_some();
                        return Poll::Ready(Err(Refusal::Limited { limit, retry }));
                    }
                    this.stage.set(after_limiter(
                        pipeline,
                        this.timer,
                        this.work,
                        this.observer,
                    ));
                }
                StageProj::Queue { admit } => match ready!(admit.poll(cx)) {
                    Ok(permit) => {
                        *this.permit = Some(permit);
                        this.stage
                            .set(run(pipeline, this.timer, this.work, this.observer));
                    }
                    Err(why) => {
                        this.stage.set(Stage::Done);
                        return Poll::Ready(Err(Refusal::Full(why)));
                    }
                },
                StageProj::Run { work } => {
                    let out = ready!(work.poll(cx));
                    // The operation goes first, then its permit.
                    this.stage.set(Stage::Done);
                    *this.permit = None;
                    let hooks = *this.hooks;
                    return Poll::Ready(match out {
                        Some(Ok(value)) => Ok(value),
                        Some(Err(error)) => Err(Refusal::Failed {
                            retry: (hooks.when)(&error),
                            hint: (hooks.hint)(&error),
                            outcome: (hooks.classify)(&error),
                            error,
                        }),
                        None => Err(Refusal::TimedOut(
                            pipeline.attempt_timeout.unwrap_or(Duration::ZERO),
                        )),
                    });
                }
                StageProj::Done => panic!("a pipeline attempt polled after completion"),
            }
        }
    }
}

/// The stage after the limiter: the bulkhead unless it is outermost or absent, else the
/// operation.
fn after_limiter<'p, T: Timer, F: Future, O: Observe>(
    pipeline: &'p Pipeline<'p>,
    timer: &T,
    work: &mut Option<F>,
    observer: &O,
) -> Stage<'p, T, F, O> {
    match pipeline.bulkhead {
        Some((bulkhead, max_wait)) if !pipeline.bulkhead_outermost => Stage::Queue {
            admit: Admit::new(bulkhead, max_wait, timer, observer),
        },
        _ => run(pipeline, timer, work, observer),
    }
}

/// The operation, under its attempt timeout when there is one.
fn run<'p, T: Timer, F: Future, O: Observe>(
    pipeline: &Pipeline<'_>,
    timer: &T,
    work: &mut Option<F>,
    observer: &O,
) -> Stage<'p, T, F, O> {
    let Some(future) = work.take() else {
        return Stage::Done;
    };
    Stage::Run {
        work: match pipeline.attempt_timeout {
            Some(limit) => Bounded::Timed {
                future: timeout_observed(timer, limit, future, observer.clone()),
            },
            None => Bounded::Free { future },
        },
    }
}

pin_project! {
    /// One attempt: through the breaker when there is one.
    #[project = AttemptProj]
    pub(super) enum Attempt<'p, T: Timer, F: Future<Output = Result<V, E>>, V, E, O: Observe> {
        Guarded {
            #[pin]
            run: breaker::Run<'p, T, Admitted<'p, T, F, E, O>, O>,
            bounded: bool,
        },
        Bare { #[pin] inner: Admitted<'p, T, F, E, O> },
    }
}

impl<T: Timer, F, V, E, O: Observe> Future for Attempt<'_, T, F, V, E, O>
where
    F: Future<Output = Result<V, E>>,
{
    type Output = Result<V, Refusal<E>>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project() {
            AttemptProj::Guarded { run, bounded } => {
                Poll::Ready(ready!(run.poll(cx)).map_err(|e| match e {
                    BreakerError::Open(open) => Refusal::Open {
                        retry: *bounded && open.retry_after().is_some(),
                        open,
                    },
                    BreakerError::Failed(refusal) => refusal,
                }))
            }
            AttemptProj::Bare { inner } => inner.poll(cx),
        }
    }
}
