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
use std::task::{Context, Poll};

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
        SmolTask(Some(task.fallible()))
    }
}

/// The handle of a task spawned by [`SmolSpawner`]. Dropping it detaches the task.
#[derive(Debug)]
#[must_use = "dropping the handle detaches the task; await it to see how it ended"]
pub struct SmolTask<T>(Option<FallibleTask<Result<T, Payload>>>);

impl<T> Future for SmolTask<T> {
    type Output = Result<T, JoinError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let Some(task) = self.0.as_mut() else {
            return Poll::Ready(Err(JoinError::Cancelled));
        };
        Pin::new(task).poll(cx).map(|r| match r {
            Some(Ok(value)) => Ok(value),
            Some(Err(payload)) => Err(JoinError::Panicked(payload)),
            None => Err(JoinError::Cancelled),
        })
    }
}

impl<T> TaskHandle<T> for SmolTask<T> {
    fn abort(&mut self) {
        // Dropping an async-task handle cancels the task.
        self.0 = None;
    }

    fn is_finished(&self) -> bool {
        self.0.as_ref().is_none_or(FallibleTask::is_finished)
    }
}

impl<T> Drop for SmolTask<T> {
    fn drop(&mut self) {
        if let Some(task) = self.0.take() {
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
