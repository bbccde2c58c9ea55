//! What a policy holds: the simulation's timer, its dependency and its observer.

use core::fmt;
use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll};
use std::rc::Rc;

use steadfast::observe::{Event, Observer};
use steadfast::{Instant, Timer};

use crate::model::Decision;
use crate::rng::Draws;
use crate::shared::Shared;

/// The simulation's virtual clock, a [`Timer`]: hand it to your pipeline, breaker, limiter
/// and sleeps as you would a `TokioTimer`. Its clock starts at [`Instant::ZERO`] for each
/// policy's run and moves only when every request is waiting, to the next deadline or
/// arrival. A sleep polled outside a running simulation never ends. Clones share one clock.
#[derive(Clone)]
pub struct SimTimer {
    pub(crate) shared: Rc<Shared>,
}

impl Timer for SimTimer {
    type Sleep = SimSleep;

    #[inline]
    fn now(&self) -> Instant {
        Instant::from_nanos(self.shared.now())
    }

    fn sleep_until(&self, deadline: Instant) -> SimSleep {
        SimSleep {
            shared: self.shared.clone(),
            deadline: deadline.as_nanos(),
            registered: None,
        }
    }
}

impl fmt::Debug for SimTimer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SimTimer")
            .field("now", &self.now())
            .finish()
    }
}

/// The future of [`SimTimer::sleep_until`]: ends once the virtual clock reaches its
/// deadline. Dropping it unregisters it.
#[must_use = "futures do nothing unless polled"]
pub struct SimSleep {
    shared: Rc<Shared>,
    deadline: u64,
    registered: Option<(u32, u32)>,
}

impl Future for SimSleep {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = &mut *self;
        if this.shared.now() >= this.deadline {
            if let Some(r) = this.registered.take() {
                this.shared.release(r);
            }
            return Poll::Ready(());
        }
        match this.registered {
            Some(r) => this.shared.retarget(r, cx),
            None => {
                let target = this.shared.target(cx);
                this.registered = this.shared.register(this.deadline, target);
            }
        }
        Poll::Pending
    }
}

impl Drop for SimSleep {
    fn drop(&mut self) {
        if let Some(r) = self.registered.take() {
            self.shared.release(r);
        }
    }
}

impl fmt::Debug for SimSleep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SimSleep")
            .field("deadline", &Instant::from_nanos(self.deadline))
            .finish()
    }
}

/// Why a call to the simulated dependency failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DependencyError {
    /// It answered with an error (the model's error rate, or a brownout's).
    Error,
    /// It was down (an outage window).
    Outage,
}

impl fmt::Display for DependencyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            DependencyError::Error => "the dependency answered with an error",
            DependencyError::Outage => "the dependency is down",
        })
    }
}

impl std::error::Error for DependencyError {}

/// The simulated dependency: each [`call`](Dependency::call) is one call to it, decided by
/// the [`DependencyModel`](crate::DependencyModel) on its first poll. Clones share one
/// dependency; each policy's run meets a fresh one (nothing in flight) with the same seed.
#[derive(Clone)]
pub struct Dependency {
    pub(crate) shared: Rc<Shared>,
}

impl Dependency {
    /// One call: nothing happens until it is polled; it is counted, and in flight, from its
    /// first poll until it ends or is dropped (a timeout cutting it frees the dependency's
    /// capacity at once).
    pub fn call(&self) -> DependencyCall {
        DependencyCall {
            shared: self.shared.clone(),
            state: CallState::Idle,
        }
    }
}

impl fmt::Debug for Dependency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Dependency")
            .field("in_flight", &self.shared.dependency_in_flight.get())
            .finish()
    }
}

enum CallState {
    Idle,
    Waiting {
        done_at: u64,
        result: Result<(), DependencyError>,
        registered: Option<(u32, u32)>,
    },
    Done,
}

/// One call to the simulated [`Dependency`].
#[must_use = "futures do nothing unless polled"]
pub struct DependencyCall {
    shared: Rc<Shared>,
    state: CallState,
}

impl DependencyCall {
    fn end(&mut self, ok: bool) {
        let s = &self.shared;
        let n = s.dependency_in_flight.get().saturating_sub(1);
        s.dependency_in_flight.set(n);
        s.rec.borrow_mut().dependency_ended(ok);
    }
}

impl Future for DependencyCall {
    type Output = Result<(), DependencyError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        let now = this.shared.now();
        if let CallState::Idle = this.state {
            let s = &this.shared;
            let (request, call) = s.call_key();
            let n = s.dependency_in_flight.get() + 1;
            s.dependency_in_flight.set(n);
            s.rec.borrow_mut().dependency_call(now, n);
            let (done_at, result) = match s.model.decide(now, n, Draws::new(s.seed, request, call))
            {
                Decision::After(d, r) => (now.saturating_add(d), r),
                Decision::At(t) => (t, Err(DependencyError::Outage)),
            };
            this.state = CallState::Waiting {
                done_at,
                result,
                registered: None,
            };
        }
        match &mut this.state {
            CallState::Waiting {
                done_at,
                result,
                registered,
            } => {
                if now >= *done_at {
                    let result = *result;
                    if let Some(r) = registered.take() {
                        this.shared.release(r);
                    }
                    this.state = CallState::Done;
                    this.end(result.is_ok());
                    return Poll::Ready(result);
                }
                match registered {
                    Some(r) => this.shared.retarget(*r, cx),
                    None => {
                        let target = this.shared.target(cx);
                        *registered = this.shared.register(*done_at, target);
                    }
                }
                Poll::Pending
            }
            // Polled after its end, as a fused future would not be: nothing more comes.
            _ => Poll::Pending,
        }
    }
}

impl Drop for DependencyCall {
    fn drop(&mut self) {
        if let CallState::Waiting { registered, .. } = &mut self.state {
            if let Some(r) = registered.take() {
                self.shared.release(r);
            }
            self.state = CallState::Done;
            let s = &self.shared;
            s.dependency_in_flight
                .set(s.dependency_in_flight.get().saturating_sub(1));
            s.rec.borrow_mut().dependency_cancelled();
        }
    }
}

impl fmt::Debug for DependencyCall {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DependencyCall")
            .field("started", &!matches!(self.state, CallState::Idle))
            .finish()
    }
}

/// Counts the events of the calls it observes into the running policy's report: pass it to
/// a pipeline call (`.observe(&observer)`), a retry, a breaker's `run`, a bulkhead's
/// `acquire`. Attempts, retries, budget refusals, timeouts, breaker transitions and
/// rejections, limiter waits and rejections, bulkhead queueing and rejections and hedges are
/// counted only from observed calls.
#[derive(Clone)]
pub struct SimObserver {
    pub(crate) shared: Rc<Shared>,
}

impl Observer for SimObserver {
    fn on_event(&self, event: &Event) {
        let now = self.shared.now();
        self.shared.rec.borrow_mut().event(now, event);
    }
}

impl fmt::Debug for SimObserver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SimObserver")
    }
}
