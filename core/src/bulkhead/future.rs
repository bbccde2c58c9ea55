//! The bulkhead's futures and permits.

use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll};

use crate::sync::{self as semaphore, AcquireError};
use pin_project_lite::pin_project;

use super::{Bulkhead, BulkheadError, Rejected};
use crate::Timer;
use crate::observe::{Event, Observe};
use crate::timeout::Timeout;

/// A permit of a [`Bulkhead`], released when dropped.
#[must_use = "dropping a permit releases it at once"]
pub struct Permit<'a> {
    pub(super) _permit: semaphore::Permit<'a>,
}

impl core::fmt::Debug for Permit<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("Permit")
    }
}

/// A permit that owns a reference to its [`Bulkhead`], for `'static` tasks; released when
/// dropped. From [`Bulkhead::acquire_owned`] and [`Bulkhead::try_acquire_owned`].
#[cfg(feature = "alloc")]
#[must_use = "dropping a permit releases it at once"]
pub struct OwnedPermit {
    pub(super) bulkhead: alloc::sync::Arc<Bulkhead>,
}

#[cfg(feature = "alloc")]
impl OwnedPermit {
    /// The bulkhead this permit belongs to.
    #[must_use]
    pub fn bulkhead(&self) -> &alloc::sync::Arc<Bulkhead> {
        &self.bulkhead
    }
}

#[cfg(feature = "alloc")]
impl Drop for OwnedPermit {
    fn drop(&mut self) {
        self.bulkhead.semaphore.add_permits(1);
    }
}

#[cfg(feature = "alloc")]
impl core::fmt::Debug for OwnedPermit {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("OwnedPermit")
    }
}

pin_project! {
    /// The future returned by [`Bulkhead::acquire`]: a permit, or why there is none. `O` is
    /// its [observer](crate::observe), `()` unless set with [`observe`](Acquire::observe).
    #[must_use = "futures do nothing unless awaited"]
    pub struct Acquire<'a, O = ()> {
        bulkhead: &'a Bulkhead,
        // The place in the semaphore's queue, once the caller has to wait. A separate field
        // rather than a state enum: a permit taken at once drops nothing out of line.
        #[pin]
        wait: Option<semaphore::Acquire<'a>>,
        done: bool,
        observer: O,
    }
}

impl<'a> Acquire<'a> {
    pub(super) fn new(bulkhead: &'a Bulkhead) -> Self {
        Acquire {
            bulkhead,
            wait: None,
            done: false,
            observer: (),
        }
    }
}

impl<'a, O> Acquire<'a, O> {
    /// Reports waiting in the queue ([`Event::BulkheadQueued`]) and a rejection
    /// ([`Event::BulkheadRejected`]) to `observer` (see [`crate::observe`]).
    #[inline(always)]
    pub fn observe<O2: Observe>(self, observer: O2) -> Acquire<'a, O2> {
        Acquire {
            bulkhead: self.bulkhead,
            wait: self.wait,
            done: self.done,
            observer,
        }
    }
}

impl<O> core::fmt::Debug for Acquire<'_, O> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let state = match (self.done, &self.wait) {
            (true, _) => "done",
            (false, Some(_)) => "waiting",
            (false, None) => "start",
        };
        f.debug_struct("Acquire").field("state", &state).finish()
    }
}

impl<'a, O: Observe> Future for Acquire<'a, O> {
    type Output = Result<Permit<'a>, Rejected>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        let bulkhead: &'a Bulkhead = this.bulkhead;
        if *this.done {
            panic!("`Acquire` polled after completion");
        }
        let result = if let Some(acquire) = this.wait.as_mut().as_pin_mut() {
            match acquire.poll(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(r) => r.map_err(rejected),
            }
        } else {
            match bulkhead.try_take() {
                Ok(permit) => Ok(permit),
                Err(Some(why)) => Err(why),
                Err(None) => {
                    this.wait.set(Some(bulkhead.wait()));
                    let Some(acquire) = this.wait.as_mut().as_pin_mut() else {
                        unreachable!("just set")
                    };
                    // The semaphore refuses under its lock when the queue is at its cap.
                    let first = acquire.poll(cx);
                    if !matches!(first, Poll::Ready(Err(AcquireError::QueueFull))) {
                        this.observer.emit(|| Event::BulkheadQueued);
                    }
                    match first {
                        Poll::Pending => return Poll::Pending,
                        Poll::Ready(r) => r.map_err(rejected),
                    }
                }
            }
        };
        let result = match result {
            Ok(permit) => bulkhead.admit(permit),
            Err(why) => Err(bulkhead.stats.reject(why)),
        };
        if let Err(why) = result {
            this.observer.emit(|| Event::BulkheadRejected(why));
        }
        if this.wait.is_some() {
            this.wait.set(None);
        }
        *this.done = true;
        Poll::Ready(result)
    }
}

/// The rejection for a wait in the semaphore that ended without a permit.
fn rejected(e: AcquireError) -> Rejected {
    match e {
        AcquireError::Closed => Rejected::Closed,
        AcquireError::QueueFull => Rejected::QueueFull,
    }
}

pin_project! {
    /// The future returned by [`Bulkhead::acquire_within`]: like [`Acquire`], but a caller
    /// that waits the time it was given gets [`Rejected::WaitedTooLong`]. `O` is its
    /// [observer](crate::observe), `()` unless set with [`observe`](AcquireWithin::observe).
    #[must_use = "futures do nothing unless awaited"]
    pub struct AcquireWithin<'a, T: Timer, O = ()> {
        bulkhead: &'a Bulkhead,
        #[pin]
        inner: Timeout<Acquire<'a, O>, T>,
        observer: O,
    }
}

impl<'a, T: Timer> AcquireWithin<'a, T> {
    pub(super) fn new(bulkhead: &'a Bulkhead, inner: Timeout<Acquire<'a>, T>) -> Self {
        AcquireWithin {
            bulkhead,
            inner,
            observer: (),
        }
    }
}

impl<'a, T: Timer, O> AcquireWithin<'a, T, O> {
    /// Reports waiting in the queue ([`Event::BulkheadQueued`]) and a rejection
    /// ([`Event::BulkheadRejected`]) to `observer` (see [`crate::observe`]).
    #[inline(always)]
    pub fn observe<O2: Observe>(self, observer: O2) -> AcquireWithin<'a, T, O2> {
        AcquireWithin {
            bulkhead: self.bulkhead,
            inner: self.inner.map(|acquire| acquire.observe(observer.clone())),
            observer,
        }
    }
}

impl<T: Timer, O> core::fmt::Debug for AcquireWithin<'_, T, O> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("AcquireWithin").finish_non_exhaustive()
    }
}

impl<'a, T: Timer, O: Observe> Future for AcquireWithin<'a, T, O> {
    type Output = Result<Permit<'a>, Rejected>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        // The acquire is polled before the clock is read: a free permit costs no clock read,
        // and a permit handed over at the deadline wins.
        match this.inner.poll(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Ok(result)) => Poll::Ready(result),
            Poll::Ready(Err(_elapsed)) => {
                let why = this.bulkhead.stats.reject(Rejected::WaitedTooLong);
                this.observer.emit(|| Event::BulkheadRejected(why));
                Poll::Ready(Err(why))
            }
        }
    }
}

/// The permit a [`Run`] holds while its work runs: released on drop, like [`Permit`].
struct Held<'a>(&'a Bulkhead);

impl Drop for Held<'_> {
    fn drop(&mut self) {
        self.0.semaphore.add_permits(1);
    }
}

pin_project! {
    #[project = RunProj]
    enum RunState<'a, A> {
        Acquiring {
            #[pin]
            acquire: A,
            bulkhead: &'a Bulkhead,
        },
        Running {
            permit: Held<'a>,
        },
        Done,
    }
}

pin_project! {
    /// The future returned by [`Bulkhead::run`] and [`Bulkhead::run_within`]: acquires a
    /// permit with `A` (an [`Acquire`] or an [`AcquireWithin`]), then runs the work while
    /// holding it.
    #[must_use = "futures do nothing unless awaited"]
    pub struct Run<'a, F, A = Acquire<'a>> {
        // The work stays where it is from the start (a large future is not moved when the
        // permit comes), and is declared before the permit: dropped first. `None` once done.
        #[pin]
        work: Option<F>,
        #[pin]
        state: RunState<'a, A>,
    }
}

impl<'a, F, A> Run<'a, F, A> {
    /// `acquire` must be one of `bulkhead`'s acquire futures: the permit it gives is taken
    /// over and given back to `bulkhead`.
    pub(super) fn new(bulkhead: &'a Bulkhead, acquire: A, work: F) -> Self {
        Run {
            work: Some(work),
            state: RunState::Acquiring { acquire, bulkhead },
        }
    }
}

impl<'a, F, A> Run<'a, F, A> {
    /// The same run, its acquire future changed by `f` (before the first poll: a setter's).
    fn map_acquire<A2>(self, f: impl FnOnce(A) -> A2) -> Run<'a, F, A2> {
        Run {
            work: self.work,
            state: match self.state {
                RunState::Acquiring { acquire, bulkhead } => RunState::Acquiring {
                    acquire: f(acquire),
                    bulkhead,
                },
                RunState::Running { permit } => RunState::Running { permit },
                RunState::Done => RunState::Done,
            },
        }
    }
}

impl<'a, F> Run<'a, F, Acquire<'a>> {
    /// Reports the wait for the permit to `observer` (see [`crate::observe`]): queued behind
    /// a full bulkhead, or turned away.
    #[inline(always)]
    pub fn observe<O: Observe>(self, observer: O) -> Run<'a, F, Acquire<'a, O>> {
        self.map_acquire(|acquire| acquire.observe(observer))
    }
}

impl<'a, F, T: Timer> Run<'a, F, AcquireWithin<'a, T>> {
    /// Reports the wait for the permit to `observer` (see [`crate::observe`]): queued behind
    /// a full bulkhead, or turned away (full, or waited too long).
    #[inline(always)]
    pub fn observe<O: Observe>(self, observer: O) -> Run<'a, F, AcquireWithin<'a, T, O>> {
        self.map_acquire(|acquire| acquire.observe(observer))
    }
}

impl<F, A> core::fmt::Debug for Run<'_, F, A> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let state = match self.state {
            RunState::Acquiring { .. } => "acquiring",
            RunState::Running { .. } => "running",
            RunState::Done => "done",
        };
        f.debug_struct("Run").field("state", &state).finish()
    }
}

// `P` is always a `Permit` of the run's bulkhead (`Run::new` is private). The impl names no
// lifetime of it, so that an async block holding a `Run` is `Send` wherever its parts are:
// a bound tying the permit's lifetime to the run's defeats the compiler's `Send` check of
// such blocks (tokio's `spawn` rejects them).
impl<F, A, P> Future for Run<'_, F, A>
where
    F: Future,
    A: Future<Output = Result<P, Rejected>>,
{
    type Output = Result<F::Output, Rejected>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        if let RunProj::Acquiring { acquire, bulkhead } = this.state.as_mut().project() {
            match acquire.poll(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Ok(permit)) => {
                    // The permit moves to `Held`, which gives it back when dropped.
                    core::mem::forget(permit);
                    let permit = Held(bulkhead);
                    this.state.set(RunState::Running { permit });
                }
                Poll::Ready(Err(why)) => {
                    this.work.set(None);
                    this.state.set(RunState::Done);
                    return Poll::Ready(Err(why));
                }
            }
        }
        let Some(work) = this.work.as_mut().as_pin_mut() else {
            panic!("`Run` polled after completion");
        };
        let out = match work.poll(cx) {
            Poll::Pending => return Poll::Pending,
            Poll::Ready(out) => out,
        };
        // The work first, then the permit.
        this.work.set(None);
        this.state.set(RunState::Done);
        Poll::Ready(Ok(out))
    }
}

pin_project! {
    /// The future returned by [`Bulkhead::call`] and [`Bulkhead::call_within`]: a [`Run`] of
    /// fallible work, with the rejection and the work's error in one [`BulkheadError`].
    #[must_use = "futures do nothing unless awaited"]
    pub struct Call<'a, F, A = Acquire<'a>> {
        #[pin]
        run: Run<'a, F, A>,
    }
}

impl<'a, F, A> Call<'a, F, A> {
    pub(super) fn new(run: Run<'a, F, A>) -> Self {
        Call { run }
    }
}

impl<'a, F> Call<'a, F, Acquire<'a>> {
    /// Reports the wait for the permit to `observer`, as [`Run::observe`].
    #[inline(always)]
    pub fn observe<O: Observe>(self, observer: O) -> Call<'a, F, Acquire<'a, O>> {
        Call {
            run: self.run.observe(observer),
        }
    }
}

impl<'a, F, T: Timer> Call<'a, F, AcquireWithin<'a, T>> {
    /// Reports the wait for the permit to `observer`, as [`Run::observe`].
    #[inline(always)]
    pub fn observe<O: Observe>(self, observer: O) -> Call<'a, F, AcquireWithin<'a, T, O>> {
        Call {
            run: self.run.observe(observer),
        }
    }
}

impl<F, A> core::fmt::Debug for Call<'_, F, A> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_tuple("Call").field(&self.run).finish()
    }
}

impl<F, A, P, T, E> Future for Call<'_, F, A>
where
    F: Future<Output = Result<T, E>>,
    A: Future<Output = Result<P, Rejected>>,
{
    type Output = Result<T, BulkheadError<E>>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().run.poll(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Ok(Ok(value))) => Poll::Ready(Ok(value)),
            Poll::Ready(Ok(Err(e))) => Poll::Ready(Err(BulkheadError::Failed(e))),
            Poll::Ready(Err(why)) => Poll::Ready(Err(BulkheadError::Rejected(why))),
        }
    }
}
