//! The futures of [`Chaos::run`](super::Chaos::run) and [`Chaos::call`](super::Chaos::call).

use core::fmt;
use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll};
use core::time::Duration;

use pin_project_lite::pin_project;

use super::{Fault, Injected};
use crate::Timer;

/// What the future does, decided by the call's draw.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Plan {
    /// Run the work (no fault, or a delay already waited out).
    Work,
    /// Wait this long, then run the work.
    Delay(Duration),
    /// End with this error.
    Fail(Injected),
    /// End with the replacement result, or [`Injected::Outcome`] without one.
    Outcome,
    /// Never end.
    Stall,
    /// Ended.
    Done,
}

pin_project! {
    #[project = WorkProj]
    enum Work<F> {
        Held { #[pin] work: F },
        Gone,
    }
}

pin_project! {
    #[project = ArmProj]
    enum Arm<S> {
        Idle,
        Armed { #[pin] sleep: S },
    }
}

pin_project! {
    /// The future of [`Chaos::run`](super::Chaos::run): the work's output, or the
    /// [`Injected`] fault. `G` makes the result of an outcome fault (see
    /// [`outcome`](Run::outcome)).
    ///
    /// The fault was drawn when the future was made. Without a fault it is the work itself
    /// (one branch a poll); with an error, outcome or stall the work was dropped unpolled at
    /// once, so the future holds nothing of it; with a latency the delay's sleep is armed at
    /// the first poll (counted from then, as a timeout's) and dropped when it ends. Dropped
    /// at any point, it leaves nothing behind.
    #[must_use = "a chaos stage does nothing unless awaited"]
    pub struct Run<F: Future, T: Timer, G = fn() -> <F as Future>::Output> {
        #[pin]
        work: Work<F>,
        #[pin]
        sleep: Arm<T::Sleep>,
        timer: T,
        plan: Plan,
        outcome: Option<G>,
    }
}

impl<F: Future, T: Timer> Run<F, T> {
    pub(super) fn new(timer: &T, fault: Option<Fault>, work: F) -> Self {
        let plan = match fault {
            None => Plan::Work,
            Some(Fault::Latency(d)) => Plan::Delay(d),
            Some(Fault::Error) => Plan::Fail(Injected::Error),
            Some(Fault::Outcome) => Plan::Outcome,
            Some(Fault::Stall) => Plan::Stall,
        };
        let work = match plan {
            Plan::Work | Plan::Delay(_) => Work::Held { work },
            // The work never runs: dropped now, unpolled, with whatever it holds.
            _ => Work::Gone,
        };
        Run {
            work,
            sleep: Arm::Idle,
            timer: timer.clone(),
            plan,
            outcome: None,
        }
    }
}

impl<F: Future, T: Timer, G> Run<F, T, G> {
    /// The result an outcome fault ends the call with, instead of running the work: `make`
    /// is called once, only when the call drew an outcome fault (a closure or a `fn`
    /// pointer). Without it, an outcome fault fails the call with [`Injected::Outcome`], as
    /// an error fault does.
    pub fn outcome<G2: FnOnce() -> F::Output>(self, make: G2) -> Run<F, T, G2> {
        Run {
            work: self.work,
            sleep: self.sleep,
            timer: self.timer,
            plan: self.plan,
            outcome: Some(make),
        }
    }

    /// The fault this call drew, as [`Chaos::draw`](super::Chaos::draw) gave it (a latency
    /// already waited out reads as none). `None` after completion too.
    #[must_use]
    pub fn fault(&self) -> Option<Fault> {
        match self.plan {
            Plan::Work | Plan::Done => None,
            Plan::Delay(d) => Some(Fault::Latency(d)),
            Plan::Fail(_) => Some(Fault::Error),
            Plan::Outcome => Some(Fault::Outcome),
            Plan::Stall => Some(Fault::Stall),
        }
    }
}

impl<F: Future, T: Timer, G> fmt::Debug for Run<F, T, G> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Run")
            .field("plan", &self.plan)
            .finish_non_exhaustive()
    }
}

impl<F: Future, T: Timer, G: FnOnce() -> F::Output> Future for Run<F, T, G> {
    type Output = Result<F::Output, Injected>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        match *this.plan {
            Plan::Work => {}
            Plan::Delay(d) => {
                if let ArmProj::Idle = this.sleep.as_mut().project() {
                    this.sleep.set(Arm::Armed {
                        sleep: this.timer.sleep(d),
                    });
                }
                if let ArmProj::Armed { sleep } = this.sleep.as_mut().project() {
                    if sleep.poll(cx).is_pending() {
                        return Poll::Pending;
                    }
                }
                // Over: the sleep goes now, the work runs in this same poll.
                this.sleep.set(Arm::Idle);
                *this.plan = Plan::Work;
            }
            Plan::Fail(injected) => {
                *this.plan = Plan::Done;
                return Poll::Ready(Err(injected));
            }
            Plan::Outcome => {
                *this.plan = Plan::Done;
                return Poll::Ready(match this.outcome.take() {
                    Some(make) => Ok(make()),
                    None => Err(Injected::Outcome),
                });
            }
            // No waker kept: nothing will ever wake it, and it holds nothing to free.
            Plan::Stall => return Poll::Pending,
            Plan::Done => panic!("`Run` polled after completion"),
        }
        let WorkProj::Held { work } = this.work.as_mut().project() else {
            unreachable!("the work is held while it is to run")
        };
        let out = core::task::ready!(work.poll(cx));
        this.work.set(Work::Gone);
        *this.plan = Plan::Done;
        Poll::Ready(Ok(out))
    }
}

pin_project! {
    /// The future of [`Chaos::call`](super::Chaos::call): the work's `Result<V, E>`, an
    /// [`Injected`] fault converted into `E`. Otherwise as [`Run`].
    #[must_use = "a chaos stage does nothing unless awaited"]
    pub struct Call<F: Future, T: Timer, G = fn() -> <F as Future>::Output> {
        #[pin]
        run: Run<F, T, G>,
    }
}

impl<F: Future, T: Timer> Call<F, T> {
    pub(super) fn new(run: Run<F, T>) -> Self {
        Call { run }
    }
}

impl<F: Future, T: Timer, G> Call<F, T, G> {
    /// See [`Run::outcome`]: here `make` gives the work's own `Result<V, E>`, such as
    /// `|| Ok(Response::status(500))`.
    pub fn outcome<G2: FnOnce() -> F::Output>(self, make: G2) -> Call<F, T, G2> {
        Call {
            run: self.run.outcome(make),
        }
    }

    /// See [`Run::fault`].
    #[must_use]
    pub fn fault(&self) -> Option<Fault> {
        self.run.fault()
    }
}

impl<F: Future, T: Timer, G> fmt::Debug for Call<F, T, G> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Call")
            .field("plan", &self.run.plan)
            .finish_non_exhaustive()
    }
}

impl<F, T, G, V, E> Future for Call<F, T, G>
where
    F: Future<Output = Result<V, E>>,
    T: Timer,
    G: FnOnce() -> F::Output,
    E: From<Injected>,
{
    type Output = Result<V, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.project().run.poll(cx).map(|out| match out {
            Ok(result) => result,
            Err(injected) => Err(E::from(injected)),
        })
    }
}
