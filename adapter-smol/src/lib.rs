//! [`steadfast`]'s seams on the smol family: [`AsyncIoTimer`] (a [`Timer`] on `async-io`, the
//! reactor under both smol and async-std) and [`SmolSpawner`] (a [`Spawn`] on smol's global
//! executor or on an `async_executor::Executor` you supply).
//!
//! This crate re-exports the whole core, so one dependency is enough:
//!
//! ```
//! use std::time::Duration;
//! use steadfast_smol::{AsyncIoTimer, timeout::TimeoutExt};
//!
//! smol::block_on(async {
//!     let timer = AsyncIoTimer::new();
//!     let err = std::future::pending::<()>()
//!         .timeout(&timer, Duration::from_millis(5))
//!         .context("waiting for the sensor")
//!         .await
//!         .unwrap_err();
//!     assert_eq!(err.to_string(), "waiting for the sensor: timed out after 5ms");
//! });
//! ```
//!
//! [`Timer`]: steadfast::Timer
//! [`Spawn`]: steadfast::Spawn

use std::any::Any;
use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use async_executor::{Executor, FallibleTask};
pub use steadfast::*;

/// A [`Timer`] on `async-io`: works under smol, under async-std (which runs
/// on async-io) and under any executor, since async-io drives its own reactor.
///
/// Its [`Instant`]s count from the moment the timer was created; clones share that origin.
/// Deadlines past what the OS clock can represent become `async_io::Timer::never()`.
#[derive(Clone, Copy, Debug)]
pub struct AsyncIoTimer {
    origin: std::time::Instant,
}

impl AsyncIoTimer {
    /// A timer whose origin is now.
    #[must_use]
    pub fn new() -> Self {
        AsyncIoTimer {
            origin: std::time::Instant::now(),
        }
    }
}

impl Default for AsyncIoTimer {
    fn default() -> Self {
        Self::new()
    }
}

impl Timer for AsyncIoTimer {
    type Sleep = AsyncIoSleep;

    fn now(&self) -> Instant {
        let nanos = self.origin.elapsed().as_nanos();
        Instant::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX))
    }

    fn sleep_until(&self, deadline: Instant) -> AsyncIoSleep {
        let at = (deadline != Instant::MAX)
            .then(|| self.origin.checked_add(deadline.since_origin()))
            .flatten();
        AsyncIoSleep(at.map_or_else(async_io::Timer::never, async_io::Timer::at))
    }
}

/// The sleep of [`AsyncIoTimer`]: an `async_io::Timer`, unregistered when dropped.
#[derive(Debug)]
#[must_use = "a sleep does nothing unless awaited"]
pub struct AsyncIoSleep(async_io::Timer);

impl Future for AsyncIoSleep {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        Pin::new(&mut self.0).poll(cx).map(drop)
    }
}

#[derive(Clone, Debug)]
enum Target {
    #[cfg(feature = "smol")]
    Global,
    Shared(Arc<Executor<'static>>),
    Static(&'static Executor<'static>),
}

/// A [`Spawn`] on smol's global executor or on an `async_executor::Executor`.
///
/// A panic in a spawned task is caught inside the task and surfaces as
/// [`JoinError::Panicked`]; it never unwinds into the executor.
/// An aborted task, or one whose executor was dropped, ends as
/// [`JoinError::Cancelled`].
#[derive(Clone, Debug)]
pub struct SmolSpawner {
    target: Target,
}

impl SmolSpawner {
    /// Spawns on smol's global executor (`smol::spawn`), which runs tasks on its own threads.
    #[cfg(feature = "smol")]
    #[must_use]
    pub fn global() -> Self {
        SmolSpawner {
            target: Target::Global,
        }
    }

    /// Spawns on `executor`; tasks run while someone drives it (`executor.run(..)`).
    #[must_use]
    pub fn new(executor: Arc<Executor<'static>>) -> Self {
        SmolSpawner {
            target: Target::Shared(executor),
        }
    }

    /// Spawns on an executor in a `static`.
    #[must_use]
    pub fn from_static(executor: &'static Executor<'static>) -> Self {
        SmolSpawner {
            target: Target::Static(executor),
        }
    }
}

type Payload = Box<dyn Any + Send + 'static>;

impl Spawn for SmolSpawner {
    type Handle<T: Send + 'static> = SmolTask<T>;

    fn spawn<F>(&self, future: F) -> SmolTask<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let future = CatchUnwind { future };
        let task = match &self.target {
            #[cfg(feature = "smol")]
            Target::Global => smol::spawn(future),
            Target::Shared(ex) => ex.spawn(future),
            Target::Static(ex) => ex.spawn(future),
        };
        SmolTask(State::Running(task.fallible()))
    }
}

/// What a task's future gives: its value, or the payload of its panic.
type Output<T> = Result<T, Payload>;

/// async-task's cancellation: resolves once the task's future has been dropped, with the
/// output if the task had finished first.
type Cancelling<T> = Pin<Box<dyn Future<Output = Option<Output<T>>> + Send + Sync>>;

enum State<T> {
    Running(FallibleTask<Output<T>>),
    /// Aborted; waiting for the executor to drop the task's future.
    Aborting(Cancelling<T>),
    /// The outcome, until the handle gives it (then `None`).
    Ended(Option<Result<T, JoinError>>),
}

/// The handle of a task spawned by [`SmolSpawner`]. Dropping it detaches the task.
///
/// [`abort`](TaskHandle::abort) cancels the task at once; the handle then resolves, with
/// [`JoinError::Cancelled`], only after the executor has dropped the task's future, so
/// whatever the future held is released by then. A task that had already finished keeps its
/// value. After `abort`, [`is_finished`](TaskHandle::is_finished) is `true`: the task will
/// not run again.
#[must_use = "dropping the handle detaches the task; await it to see how it ended"]
pub struct SmolTask<T>(State<T>);

// The handle never pins its output: it holds it only to hand it over by value.
impl<T> Unpin for SmolTask<T> {}

impl<T> std::fmt::Debug for SmolTask<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = match &self.0 {
            State::Running(_) => "running",
            State::Aborting(_) => "aborting",
            State::Ended(_) => "ended",
        };
        f.debug_tuple("SmolTask").field(&state).finish()
    }
}

fn outcome<T>(output: Option<Output<T>>) -> Result<T, JoinError> {
    match output {
        Some(Ok(value)) => Ok(value),
        Some(Err(payload)) => Err(JoinError::Panicked(payload)),
        None => Err(JoinError::Cancelled),
    }
}

impl<T: Send + 'static> Future for SmolTask<T> {
    type Output = Result<T, JoinError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let out = match &mut self.0 {
            State::Running(task) => std::task::ready!(Pin::new(task).poll(cx)),
            State::Aborting(cancelling) => std::task::ready!(cancelling.as_mut().poll(cx)),
            State::Ended(out) => {
                return Poll::Ready(out.take().unwrap_or(Err(JoinError::Cancelled)));
            }
        };
        self.0 = State::Ended(None);
        Poll::Ready(outcome(out))
    }
}

impl<T: Send + 'static> TaskHandle<T> for SmolTask<T> {
    fn abort(&mut self) {
        let State::Running(_) = self.0 else { return };
        let State::Running(task) = std::mem::replace(&mut self.0, State::Ended(None)) else {
            return;
        };
        let mut cancelling: Cancelling<T> = Box::pin(task.cancel());
        // The first poll marks the task cancelled, so the executor drops its future now
        // rather than when the handle is next awaited.
        self.0 = match cancelling
            .as_mut()
            .poll(&mut Context::from_waker(Waker::noop()))
        {
            Poll::Ready(out) => State::Ended(Some(outcome(out))),
            Poll::Pending => State::Aborting(cancelling),
        };
    }

    fn is_finished(&self) -> bool {
        match &self.0 {
            State::Running(task) => task.is_finished(),
            State::Aborting(_) | State::Ended(_) => true,
        }
    }
}

impl<T> Drop for SmolTask<T> {
    fn drop(&mut self) {
        if let State::Running(task) = std::mem::replace(&mut self.0, State::Ended(None)) {
            task.detach();
        }
    }
}

pin_project_lite::pin_project! {
    /// Runs a future, turning a panic in any poll into `Err(payload)`.
    struct CatchUnwind<F> {
        #[pin]
        future: F,
    }
}

impl<F: Future> Future for CatchUnwind<F> {
    type Output = Result<F::Output, Payload>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let future = self.project().future;
        match catch_unwind(AssertUnwindSafe(|| future.poll(cx))) {
            Ok(Poll::Ready(v)) => Poll::Ready(Ok(v)),
            Ok(Poll::Pending) => Poll::Pending,
            Err(payload) => Poll::Ready(Err(payload)),
        }
    }
}
